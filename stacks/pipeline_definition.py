"""The SageMaker Pipeline definition of a model's training, generated at synth with no network.

    Train (spot, checkpointed) -> CheckQuality (the job's held-out metric against `quality`)
        -> Register (a model package, PendingManualApproval) | Fail

With tracking on, the job records its run on the environment's MLflow tracking server and the
package names that run (`stacks.pipeline_tracking`).

The request bodies are the sagemaker SDK's typed shapes (`sagemaker.core.shapes`, validated by
pydantic and serialized by the SDK) and the expressions are its workflow entities (parameters,
step properties, execution variables, conditions, Join). The SDK's `Pipeline`/`TrainingStep`/
`ModelStep` classes are not used: importing `sagemaker.mlops` creates a boto3 client at import
time (it needs a region from the environment), `ModelTrainer` uploads its driver scripts under a
timestamped key while a pipeline is defined, and `ModelStep` wants a `ModelBuilder`. The test
suite rebuilds the same pipeline with those classes and compares the JSON.

Values only CloudFormation knows (the role ARN, bucket, group name, the code archive's URL) are
`${Name}` placeholders that the construct fills with `Fn::Sub`
(`stacks.constructs.pipeline_contract`), so the JSON text depends on the config alone: the same
config gives the same bytes. Importing the SDK takes seconds, so finished definitions are
remembered in the synth memo (`stacks.memo`) by the sha256 of their inputs and the SDK's
version, beside the image look-ups.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from configs.training import Quality, Training
from stacks.constructs.pipeline_contract import (
    ARTIFACT_BUCKET,
    CHECKPOINT_PREFIX,
    CODE_URI,
    MODEL_PACKAGE_GROUP,
    OPTIONAL_PLACEHOLDERS,
    OUTPUT_PREFIX,
    PLACEHOLDERS,
    ROLE_ARN,
    placeholder,
)
from stacks.memo import JsonMemo
from stacks.pipeline_json import Expressions, api_names, number, pascal_keys, sdk_shapes
from stacks.pipeline_tracking import pipeline_mlflow_config, run_metadata, tracked_job
from stacks.sdk import sdk_version, without_telemetry

DEFINITION_VERSION = "2020-12-01"
# Remembered definitions are redone when the generator changes: this module, its JSON helpers
# and the placeholders.
_GENERATOR_FILES = (
    Path(__file__),
    Path(__file__).with_name("pipeline_json.py"),
    Path(__file__).with_name("pipeline_tracking.py"),
    Path(__file__).parent / "constructs" / "pipeline_contract.py",
)
GENERATOR_VERSION = hashlib.sha256(
    b"".join(path.read_bytes() for path in _GENERATOR_FILES)
).hexdigest()[:16]

# Step names; tests refer to them.
TRAIN_STEP = "Train"
CHECK_STEP = "CheckQuality"
REGISTER_STEP = "Register"
FAIL_STEP = "QualityBarNotMet"

CHECKPOINT_LOCAL_PATH = "/opt/ml/checkpoints"
# Where SageMaker extracts the served archive's code/ folder (SAGEMAKER_SUBMIT_DIRECTORY).
SERVING_CODE_DIR = "/opt/ml/model/code"
CONTENT_TYPES = ("application/json",)


def metric_regex(name: str) -> str:
    """The MetricDefinitions regex of `name`: train.py prints `metric name=0.966667;`
    (models/modelkit/metrics.py; a test checks the two agree)."""
    return f"{name}=([0-9.eE+-]+);"


def parameter_name(channel: str, what: str) -> str:
    """`train`, `Uri` -> `InputTrainUri`: one pipeline parameter per input value."""
    camel = "".join(part[:1].upper() + part[1:] for part in channel.replace("_", "-").split("-"))
    return f"Input{camel}{what}"


@dataclass(frozen=True)
class PipelineInputs:
    """Everything the definition depends on; its JSON is the memo key.

    Args:
        model_name: the model, for metadata.
        training: the resolved training section.
        quality: the bar the held-out metric must clear.
        training_image: the SageMaker PyTorch training image.
        inference_image: the serving image registered with the model package.
        program: the training script's path inside the code archive (`code/<model>/train.py`).
        serving_entry_point: SAGEMAKER_PROGRAM of the registered model.
        serving_instance_type: the instance type the package is registered for.
        region: the environment's region (sagemaker_region).
        code_sha256: sha256 of the training code archive, recorded on the package.
        mlflow_experiment: the MLflow experiment each execution's run is recorded in, on the
            tracking server `${TrackingServerArn}`; "": runs are not tracked.
    """

    model_name: str
    training: Training
    quality: Quality
    training_image: str
    inference_image: str
    program: str
    serving_entry_point: str
    serving_instance_type: str
    region: str
    code_sha256: str
    framework_version: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)
    mlflow_experiment: str = ""

    def key(self) -> str:
        data = asdict(self)
        data["training"] = self.training.model_dump(mode="json")
        data["quality"] = self.quality.model_dump(mode="json")
        data["generator"] = GENERATOR_VERSION
        data["sdk"] = sdk_version()
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class _DeclaredInputs:
    """The training inputs as pipeline parameters, the job's channels that read them, and the
    metadata entries that record them on the registered package."""

    parameters: list[Any]
    channels: list[Any]
    metadata: dict[str, Any]


def _declared_inputs(training: Training, exprs: Expressions) -> _DeclaredInputs:
    """One `Input<Channel>Uri` parameter per input (and `...Version` when pinned), each
    defaulting to the config's value, so an execution may point at other data."""
    from sagemaker.core.workflow.parameters import ParameterString

    shapes = sdk_shapes()
    declared = _DeclaredInputs(parameters=[], channels=[], metadata={})
    for channel, source in sorted(training.inputs.items()):
        uri = ParameterString(parameter_name(channel, "Uri"), default_value=source.s3_uri)
        declared.parameters.append(uri)
        declared.metadata[f"input-{channel}-uri"] = exprs.ref(uri.expr)
        if source.version_id is not None:
            version = ParameterString(
                parameter_name(channel, "Version"), default_value=source.version_id
            )
            declared.parameters.append(version)
            declared.metadata[f"input-{channel}-version"] = exprs.ref(version.expr)
        declared.channels.append(
            shapes.Channel(
                channel_name=channel,
                content_type=source.content_type,
                data_source=shapes.DataSource(
                    s3_data_source=shapes.S3DataSource(
                        s3_data_type="S3Prefix",
                        s3_uri=exprs.ref(uri.expr),
                        s3_data_distribution_type="FullyReplicated",
                    )
                ),
            )
        )
    return declared


def _hyperparameters(inputs: PipelineInputs) -> dict[str, str]:
    """The config's hyperparameters plus what SDK v2's PyTorch estimator sets for the training
    toolkit in the image: the script, its archive, and torch_distributed. Values are
    JSON-encoded, as the toolkit decodes them."""
    training = inputs.training
    hyperparameters = {
        name: json.dumps(value) for name, value in sorted(training.hyperparameters.items())
    }
    hyperparameters.update(
        {
            "sagemaker_program": json.dumps(inputs.program),
            "sagemaker_submit_directory": json.dumps(placeholder(CODE_URI)),
            "sagemaker_region": json.dumps(inputs.region),
            "sagemaker_container_log_level": "20",
        }
    )
    if training.distribution == "torch_distributed":
        hyperparameters["sagemaker_torch_distributed_enabled"] = "true"
    return hyperparameters


def _train_step(inputs: PipelineInputs, channels: list[Any], exprs: Expressions) -> dict[str, Any]:
    """Train: one training job on spot capacity (when configured), checkpointed per execution."""
    from sagemaker.core.utils.utils import serialize
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join

    shapes = sdk_shapes()
    training = inputs.training
    bucket = f"s3://{placeholder(ARTIFACT_BUCKET)}"
    checkpoint_uri = Join(
        on="/",
        values=[f"{bucket}/{CHECKPOINT_PREFIX}", ExecutionVariables.PIPELINE_EXECUTION_ID],
    )
    metric_names = sorted({inputs.quality.metric, *training.metrics})
    request = dict(
        algorithm_specification=shapes.AlgorithmSpecification(
            training_image=inputs.training_image,
            training_input_mode="File",
            metric_definitions=[
                shapes.MetricDefinition(name=name, regex=metric_regex(name))
                for name in metric_names
            ],
            enable_sage_maker_metrics_time_series=True,
        ),
        role_arn=placeholder(ROLE_ARN),
        hyper_parameters=_hyperparameters(inputs),
        input_data_config=channels,
        output_data_config=shapes.OutputDataConfig(s3_output_path=f"{bucket}/{OUTPUT_PREFIX}"),
        resource_config=shapes.ResourceConfig(
            instance_type=training.instance_type,
            instance_count=training.instance_count,
            volume_size_in_gb=training.volume_gb,
        ),
        stopping_condition=shapes.StoppingCondition(
            max_runtime_in_seconds=training.max_runtime_seconds,
            max_wait_time_in_seconds=training.max_wait_seconds if training.spot else None,
        ),
        enable_managed_spot_training=training.spot,
        checkpoint_config=shapes.CheckpointConfig(
            s3_uri=exprs.ref(checkpoint_uri.expr), local_path=CHECKPOINT_LOCAL_PATH
        ),
        **tracked_job(
            experiment=inputs.mlflow_experiment, code_sha256=inputs.code_sha256, exprs=exprs
        ),
    )
    arguments = pascal_keys(serialize({k: v for k, v in request.items() if v is not None}))
    return {"Name": TRAIN_STEP, "Type": "Training", "Arguments": exprs.expand(arguments)}


def _train_outputs(metric_name: str) -> tuple[Any, Any]:
    """The Train step's held-out metric and model artifact, as step properties."""
    from sagemaker.core.workflow.properties import Properties

    train = Properties(step_name=TRAIN_STEP, shape_name="DescribeTrainingJobResponse")
    return train.FinalMetricDataList[metric_name].Value, train.ModelArtifacts.S3ModelArtifacts


def _register_step(
    inputs: PipelineInputs, model_data: Any, metadata: Mapping[str, Any], exprs: Expressions
) -> dict[str, Any]:
    """Register: the trained model as a package of the group, waiting for manual approval,
    with the serving image and settings the endpoint would use."""
    from sagemaker.core.utils.utils import serialize

    shapes = sdk_shapes()
    quality = inputs.quality
    container = shapes.ModelPackageContainerDefinition(
        image=inputs.inference_image,
        model_data_url=exprs.ref(model_data.expr),
        environment={
            "SAGEMAKER_PROGRAM": inputs.serving_entry_point,
            "SAGEMAKER_SUBMIT_DIRECTORY": SERVING_CODE_DIR,
            "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
            "SAGEMAKER_REGION": inputs.region,
        },
        framework="PYTORCH",
        framework_version=inputs.framework_version or None,
    )
    arguments = api_names(
        serialize(
            {
                "ModelPackageGroupName": placeholder(MODEL_PACKAGE_GROUP),
                "ModelApprovalStatus": "PendingManualApproval",
                "InferenceSpecification": shapes.InferenceSpecification(
                    containers=[container],
                    supported_content_types=list(CONTENT_TYPES),
                    supported_response_mime_types=list(CONTENT_TYPES),
                    supported_realtime_inference_instance_types=[inputs.serving_instance_type],
                ),
                "CustomerMetadataProperties": {
                    "model": inputs.model_name,
                    "training-code-sha256": inputs.code_sha256,
                    "quality-metric": quality.metric,
                    "quality-threshold": number(quality.threshold),
                    **metadata,
                    **run_metadata(
                        experiment=inputs.mlflow_experiment, train_step=TRAIN_STEP, exprs=exprs
                    ),
                },
            }
        )
    )
    return {"Name": REGISTER_STEP, "Type": "RegisterModel", "Arguments": exprs.expand(arguments)}


def _fail_step(quality: Quality, metric: Any) -> dict[str, Any]:
    """QualityBarNotMet: the execution fails, saying the metric and the bar it missed."""
    from sagemaker.core.workflow.functions import Join

    bar = "at least" if quality.greater_is_better else "at most"
    message = Join(
        on=" ",
        values=[
            f"held-out {quality.metric}",
            metric,
            f"did not reach the bar ({bar} {number(quality.threshold)}); nothing registered",
        ],
    )
    return {"Name": FAIL_STEP, "Type": "Fail", "Arguments": {"ErrorMessage": message.expr}}


def _check_step(
    quality: Quality, metric: Any, *, register: dict[str, Any], fail: dict[str, Any]
) -> dict[str, Any]:
    """CheckQuality: register when the metric clears the bar, else fail."""
    from sagemaker.core.workflow.conditions import (
        ConditionGreaterThanOrEqualTo,
        ConditionLessThanOrEqualTo,
    )

    condition_type = (
        ConditionGreaterThanOrEqualTo if quality.greater_is_better else ConditionLessThanOrEqualTo
    )
    condition = condition_type(left=metric, right=quality.threshold)
    return {
        "Name": CHECK_STEP,
        "Type": "Condition",
        "Arguments": {
            "Conditions": [
                {
                    "Type": condition.condition_type.value,
                    "LeftValue": metric.expr,
                    "RightValue": quality.threshold,
                }
            ],
            "IfSteps": [register],
            "ElseSteps": [fail],
        },
    }


def build_definition(inputs: PipelineInputs) -> str:
    """The pipeline definition JSON (keys sorted, compact), with `${Name}` placeholders."""
    without_telemetry()
    exprs = Expressions()
    declared = _declared_inputs(inputs.training, exprs)
    train = _train_step(inputs, declared.channels, exprs)
    metric, model_data = _train_outputs(inputs.quality.metric)
    check = _check_step(
        inputs.quality,
        metric,
        register=_register_step(inputs, model_data, declared.metadata, exprs),
        fail=_fail_step(inputs.quality, metric),
    )
    definition: dict[str, Any] = {
        "Version": DEFINITION_VERSION,
        "Metadata": {},
        "Parameters": [p.to_request() for p in declared.parameters],
        "PipelineExperimentConfig": None,
        "MlflowConfig": pipeline_mlflow_config(inputs.mlflow_experiment),
        "Steps": [train, check],
    }
    text = json.dumps(definition, sort_keys=True, separators=(",", ":"))
    stray = text
    for name in (*PLACEHOLDERS, *OPTIONAL_PLACEHOLDERS):
        stray = stray.replace(placeholder(name), "")
    if "${" in stray:
        raise ValueError(
            "the definition holds a '${' that is not a placeholder; Fn::Sub would read it"
        )
    return text


def pipeline_definition(inputs: PipelineInputs, *, memo: JsonMemo) -> str:
    """`build_definition`, remembered in `memo` by the sha256 of the inputs."""
    return memo.remember(inputs.key(), lambda: build_definition(inputs))
