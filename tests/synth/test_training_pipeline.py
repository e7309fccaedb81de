"""Training pipelines: templates, the definition against SageMaker's API model and the SDK,
the code archive, and a clear error for each bad training config. That a process with another
hash seed writes the same definitions is tests/synth/test_hermetic.py's second synth."""

from __future__ import annotations

import json
import re
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from configs.errors import ConfigError
from configs.loader import load_project
from stacks.constructs.pipeline_contract import PLACEHOLDERS
from stacks.pipeline_definition import (
    CHECK_STEP,
    FAIL_STEP,
    REGISTER_STEP,
    TRAIN_STEP,
    build_definition,
    metric_regex,
)
from tests.conftest import ROOT, Synthesized, write_yaml
from tests.pipeline_support import pipeline_inputs
from tests.templates import only, resources, statements_by_sid

PIPELINE = "AWS::SageMaker::Pipeline"
# Stateful: renaming it would replace the group and lose its versions and approvals.
REGISTRY_LOGICAL_ID = "ModelRegistryGroupC87F7ECA"


def pipeline_of(template: dict[str, Any]) -> dict[str, Any]:
    _, resource = only(template, PIPELINE)
    return resource


def body_of(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The definition text with its placeholders, and the Fn::Sub variables."""
    sub = pipeline_of(template)["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]
    text, variables = sub["Fn::Sub"]
    return text, variables


def steps_by_name(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}

    def walk(steps: list[dict[str, Any]]) -> None:
        for step in steps:
            found[step["Name"]] = step
            walk(step["Arguments"].get("IfSteps", []))
            walk(step["Arguments"].get("ElseSteps", []))

    walk(definition["Steps"])
    return found


# --- templates --------------------------------------------------------------------------------


def test_every_model_with_training_has_a_pipeline_in_every_environment(
    synth: Synthesized,
) -> None:
    for name, template in synth.templates.items():
        model = name.split("-", 1)[1]
        if synth.project.models[model].file.training is None:
            continue
        text, variables = body_of(template)
        assert set(variables) == set(PLACEHOLDERS)
        definition = json.loads(text)
        assert list(steps_by_name(definition)) == [TRAIN_STEP, CHECK_STEP, REGISTER_STEP, FAIL_STEP]
        environment = name.split("-", 1)[0].lower()
        assert (
            pipeline_of(template)["Properties"]["PipelineName"] == f"{environment}-{model}-training"
        )


def test_the_model_package_group_is_retained_and_pinned(synth: Synthesized) -> None:
    template = synth.templates["Staging-iris"]
    group = template["Resources"][REGISTRY_LOGICAL_ID]
    assert group["Type"] == "AWS::SageMaker::ModelPackageGroup"
    assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Retain"
    assert group["Properties"]["ModelPackageGroupName"] == "staging-iris"
    register = steps_by_name(json.loads(body_of(template)[0]))[REGISTER_STEP]["Arguments"]
    assert register["ModelApprovalStatus"] == "PendingManualApproval"
    assert register["ModelPackageGroupName"] == "${ModelPackageGroup}"
    assert body_of(template)[1]["ModelPackageGroup"] == "staging-iris"


def _resolved(value: Any) -> Any:
    """A template value with `Fn::Join` and `AWS::Partition` resolved, as IAM reads it."""
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(str(_resolved(part)) for part in parts)
    if value == {"Ref": "AWS::Partition"}:
        return "aws"
    if isinstance(value, dict):
        return {k: _resolved(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(v) for v in value]
    return value


@pytest.mark.parametrize(
    ("stack", "owner", "other"),
    [
        ("Staging-iris", "111111111111", "222222222222"),
        ("Prod-iris", "222222222222", "111111111111"),
    ],
)
def test_the_other_account_may_deploy_registered_versions(
    synth: Synthesized, stack: str, owner: str, other: str
) -> None:
    """SageMaker's cross-account deployment: the group's resource policy lets the other
    environment's account read the group and deploy its versions (not approve them), and the
    artifact bucket lets it read the model artifacts a version names. The bucket is SSE-S3, so
    there is no key to grant; a KMS-encrypted bucket would need one."""
    from ops.registry_access import allowed_accounts

    template = synth.templates[stack]
    group = template["Resources"][REGISTRY_LOGICAL_ID]["Properties"]
    policy = _resolved(group["ModelPackageGroupPolicy"])
    prefix = f"arn:aws:sagemaker:eu-west-1:{owner}"
    version = f"{prefix}:model-package/{group['ModelPackageGroupName']}/3"
    assert allowed_accounts(json.dumps(policy), package_arn=version) == {other}
    actions = {a for statement in policy["Statement"] for a in statement["Action"]}
    assert "sagemaker:UpdateModelPackage" not in actions  # approving stays with the owner

    found = [
        _resolved(statement)
        for resource in resources(template, "AWS::S3::BucketPolicy").values()
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Sid") == "OtherAccountsReadRegisteredModels"
    ]
    assert len(found) == 1
    assert found[0]["Principal"] == {"AWS": f"arn:aws:iam::{other}:root"}
    assert found[0]["Action"] == "s3:GetObject"
    assert str(found[0]["Resource"]).endswith("/training/output/*")
    for bucket in resources(template, "AWS::S3::Bucket").values():
        encryption = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert encryption[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_spot_checkpoints_limits_and_distribution_follow_the_config(synth: Synthesized) -> None:
    iris = steps_by_name(json.loads(body_of(synth.templates["Staging-iris"])[0]))
    digits = steps_by_name(json.loads(body_of(synth.templates["Staging-digits"])[0]))
    train = iris[TRAIN_STEP]["Arguments"]
    assert train["EnableManagedSpotTraining"] is True
    assert train["StoppingCondition"] == {"MaxRuntimeInSeconds": 1800, "MaxWaitTimeInSeconds": 3600}
    assert train["CheckpointConfig"]["S3Uri"]["Std:Join"]["Values"] == [
        "s3://${ArtifactBucket}/training/checkpoints",
        {"Get": "Execution.PipelineExecutionId"},
    ]
    assert train["OutputDataConfig"] == {"S3OutputPath": "s3://${ArtifactBucket}/training/output"}
    assert "sagemaker_torch_distributed_enabled" not in train["HyperParameters"]
    assert {m["Name"] for m in train["AlgorithmSpecification"]["MetricDefinitions"]} == {
        "test_accuracy",
        "train_accuracy",
    }
    multi = digits[TRAIN_STEP]["Arguments"]
    assert multi["ResourceConfig"]["InstanceCount"] == 2
    assert multi["HyperParameters"]["sagemaker_torch_distributed_enabled"] == "true"
    assert multi["HyperParameters"]["sagemaker_program"] == '"code/digits/train.py"'


def test_the_quality_bar_comes_from_the_config(synth: Synthesized) -> None:
    for stack, threshold in (("Staging-iris", 0.9), ("Staging-digits", 0.97)):
        check = steps_by_name(json.loads(body_of(synth.templates[stack])[0]))[CHECK_STEP]
        (condition,) = check["Arguments"]["Conditions"]
        assert condition == {
            "Type": "GreaterThanOrEqualTo",
            "LeftValue": {"Get": "Steps.Train.FinalMetricDataList['test_accuracy'].Value"},
            "RightValue": threshold,
        }


def test_inputs_are_pipeline_parameters_and_recorded_on_the_package(synth: Synthesized) -> None:
    definition = json.loads(body_of(synth.templates["Staging-iris"])[0])
    parameters = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    assert parameters == {
        "InputTrainUri": "s3://ml-platform-training-data/iris/v1/iris.csv",
        "InputTrainVersion": "3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
    }
    steps = steps_by_name(definition)
    (channel,) = steps[TRAIN_STEP]["Arguments"]["InputDataConfig"]
    assert channel["DataSource"]["S3DataSource"]["S3Uri"] == {"Get": "Parameters.InputTrainUri"}
    metadata = steps[REGISTER_STEP]["Arguments"]["CustomerMetadataProperties"]
    assert metadata["input-train-uri"] == {"Get": "Parameters.InputTrainUri"}
    assert metadata["input-train-version"] == {"Get": "Parameters.InputTrainVersion"}
    assert re.fullmatch(r"[0-9a-f]{64}", metadata["training-code-sha256"])


def test_failures_page_and_only_staging_iris_is_scheduled(synth: Synthesized) -> None:
    template = synth.template("Staging-iris")
    for detail_type, status in (
        (
            "SageMaker Model Building Pipeline Execution Status Change",
            "currentPipelineExecutionStatus",
        ),
        ("SageMaker Model Building Pipeline Execution Step Status Change", "currentStepStatus"),
    ):
        template.has_resource_properties(
            "AWS::Events::Rule",
            {
                "EventPattern": Match.object_like(
                    {
                        "detail-type": [detail_type],
                        "detail": Match.object_like({status: ["Failed"]}),
                    }
                ),
                "Targets": [
                    Match.object_like({"Arn": {"Ref": Match.string_like_regexp("Paging")}})
                ],
            },
        )
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "rate(7 days)",
            "Targets": [
                Match.object_like({"SageMakerPipelineParameters": {"PipelineParameterList": []}})
            ],
        },
    )
    for stack in ("Prod-iris", "Staging-digits", "Prod-digits"):
        rules = synth.template(stack).find_resources("AWS::Events::Rule")
        assert not [r for r in rules.values() if "ScheduleExpression" in r["Properties"]], stack


def test_the_role_reads_only_inputs_writes_only_its_prefixes_passes_only_itself(
    synth: Synthesized,
) -> None:
    template = synth.templates["Staging-iris"]
    statements = statements_by_sid(template, prefix="TrainingRoleDefaultPolicy")
    role_id = pipeline_of(template)["Properties"]["RoleArn"]["Fn::GetAtt"][0]

    assert statements["PassOwnRole"]["Resource"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert statements["PassOwnRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }
    assert statements["ReadInput0"]["Resource"] == (
        "arn:aws:s3:::ml-platform-training-data/iris/v1/iris.csv"
    )
    assert set(statements["ReadInput0"]["Action"]) == {"s3:GetObject", "s3:GetObjectVersion"}
    writes = [
        s
        for s in statements.values()
        if set(_listed(s["Action"])) & {"s3:PutObject", "s3:DeleteObject"}
    ]
    assert [s["Sid"] for s in writes] == ["WriteTrainingOutputs"]
    suffixes = [r["Fn::Join"][1][-1] for r in writes[0]["Resource"]]
    assert sorted(suffixes) == ["/training/checkpoints/*", "/training/output/*"]
    # Digits reads a prefix: objects under it, listing limited to it.
    digits = statements_by_sid(
        synth.templates["Staging-digits"], prefix="TrainingRoleDefaultPolicy"
    )
    assert digits["ReadInput0"]["Resource"] == "arn:aws:s3:::ml-platform-training-data/digits/v1/*"
    assert digits["ListInput0"]["Condition"] == {"StringLike": {"s3:prefix": ["digits/v1/*"]}}
    everything = json.dumps(statements)
    assert '"s3:*"' not in everything and '"sagemaker:*"' not in everything


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_training_code_archive_holds_the_model_and_shared_code(synth: Synthesized) -> None:
    metadata = json.loads(body_of(synth.templates["Staging-iris"])[0])
    sha = steps_by_name(metadata)[REGISTER_STEP]["Arguments"]["CustomerMetadataProperties"][
        "training-code-sha256"
    ]
    archive = synth.outdir / f"asset.{sha}.tar.gz"
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {"code/iris/train.py", "code/iris/model.py", "code/modelkit/contract.py"} <= names
    assert not any(n.endswith((".pt", ".csv")) for n in names)


# --- the definition ---------------------------------------------------------------------------


# What CloudFormation puts in place of the placeholders, in the form it takes.
SUBSTITUTES = {
    "RoleArn": "arn:aws:iam::111111111111:role/Staging-iris-TrainingRole-ABCDEF",
    "ArtifactBucket": "staging-iris-artifactsbucket-abcdef",
    "CodeUri": "s3://cdk-hnb659fds-assets-111111111111-eu-west-1/" + "0" * 64 + ".gz",
    "ModelPackageGroup": "staging-iris",
}


def _sample(value: Any, shape: Any) -> Any:
    """Pipeline expressions replaced by a value of the shape the API expects there."""
    if isinstance(value, dict) and ({"Get"} == set(value) or {"Std:Join"} == set(value)):
        return {"string": "s3://bucket/value", "float": 1.0, "integer": 1}.get(
            shape.type_name, "value"
        )
    if isinstance(value, dict) and shape.type_name == "structure":
        return {k: _sample(v, shape.members[k]) for k, v in value.items() if k in shape.members}
    if isinstance(value, dict) and shape.type_name == "map":
        return {k: _sample(v, shape.value) for k, v in value.items()}
    if isinstance(value, list):
        return [_sample(v, shape.member) for v in value]
    return value


@pytest.mark.parametrize(
    "training",
    [
        {},
        {"spot": False, "max_wait_seconds": None},
        {"instance_count": 3, "distribution": "torch_distributed", "hyperparameters": {"a": True}},
    ],
)
def test_each_step_is_a_valid_sagemaker_request(training: dict[str, Any]) -> None:
    """Train's arguments are a CreateTrainingJob request (less the name the pipeline gives it),
    Register's a CreateModelPackage request: checked against botocore's SageMaker API model."""
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("sagemaker")
    text = build_definition(pipeline_inputs(**training))
    for name, value in SUBSTITUTES.items():
        text = text.replace("${" + name + "}", value)
    steps = steps_by_name(json.loads(text))
    for step, operation, extra in (
        (TRAIN_STEP, "CreateTrainingJob", {"TrainingJobName": "job"}),
        (REGISTER_STEP, "CreateModelPackage", {}),
    ):
        shape = model.operation_model(operation).input_shape
        assert shape is not None, operation
        arguments = steps[step]["Arguments"]
        assert set(arguments) <= set(shape.members), set(arguments) - set(shape.members)
        request = {**_sample(arguments, shape), **extra}
        report = ParamValidator().validate(request, shape)
        assert not report.has_errors(), report.generate_report()


def test_the_sdk_builds_the_same_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's own Pipeline, ConditionStep and FailStep around the same request bodies give
    the same definition: the control flow, parameters and expressions are the SDK's."""
    monkeypatch.setenv(
        "AWS_DEFAULT_REGION", "eu-west-1"
    )  # sagemaker.mlops makes a client on import
    import boto3
    from sagemaker.core.helper.session_helper import Session
    from sagemaker.core.workflow.conditions import ConditionGreaterThanOrEqualTo
    from sagemaker.core.workflow.functions import Join
    from sagemaker.core.workflow.parameters import ParameterString
    from sagemaker.core.workflow.properties import Properties
    from sagemaker.mlops.workflow.condition_step import ConditionStep
    from sagemaker.mlops.workflow.fail_step import FailStep
    from sagemaker.mlops.workflow.pipeline import Pipeline
    from sagemaker.mlops.workflow.steps import Step, StepTypeEnum

    ours = json.loads(build_definition(pipeline_inputs()))
    steps = steps_by_name(ours)

    # The SDK ships no types: its Step is Any to mypy.
    class Fixed(Step):  # type: ignore[misc]  # a step whose request body is given
        def __init__(self, name: str, kind: StepTypeEnum, arguments: Any, shape: str) -> None:
            super().__init__(name, step_type=kind)
            self._arguments = arguments
            self._properties = Properties(step_name=name, step=self, shape_name=shape)

        @property
        def arguments(self) -> Any:
            return self._arguments

        @property
        def properties(self) -> Any:
            return self._properties

    uri = ParameterString("InputTrainUri", default_value="s3://data/iris/")
    train = Fixed(
        TRAIN_STEP,
        StepTypeEnum.TRAINING,
        steps[TRAIN_STEP]["Arguments"],
        "DescribeTrainingJobResponse",
    )
    register = Fixed(
        REGISTER_STEP,
        StepTypeEnum.REGISTER_MODEL,
        steps[REGISTER_STEP]["Arguments"],
        "DescribeModelPackageOutput",
    )
    metric = train.properties.FinalMetricDataList["test_accuracy"].Value
    fail = FailStep(
        FAIL_STEP,
        error_message=Join(
            on=" ",
            values=[
                "held-out test_accuracy",
                metric,
                "did not reach the bar (at least 0.9); nothing registered",
            ],
        ),
    )
    check = ConditionStep(
        CHECK_STEP,
        conditions=[ConditionGreaterThanOrEqualTo(left=metric, right=0.9)],
        if_steps=[register],
        else_steps=[fail],
    )
    pipeline = Pipeline(
        name="staging-iris-training",
        parameters=[uri],
        steps=[train, check],
        sagemaker_session=Session(boto_session=boto3.Session(region_name="eu-west-1")),
        pipeline_experiment_config=None,
    )
    theirs = json.loads(pipeline.definition())
    assert theirs == ours


def test_metric_definitions_match_what_train_py_prints() -> None:
    sys.path.insert(0, str(ROOT / "models"))
    try:
        from modelkit.metrics import metric_line
    finally:
        sys.path.remove(str(ROOT / "models"))
    for line in (
        metric_line("test_accuracy", 0.966667),
        metric_line("test_accuracy", 1e-7, epoch=3),
    ):
        match = re.search(metric_regex("test_accuracy"), line)
        assert match is not None
        assert float(match.group(1)) == pytest.approx(float(line.split("=")[-1].rstrip(";")))


# --- bad configs ------------------------------------------------------------------------------


def _with_training(root: Path, training: dict[str, Any], **top: Any) -> None:
    import yaml

    path = root / "models" / "iris" / "config.yaml"
    data = yaml.safe_load(path.read_text())
    data["training"] = training
    data.update(top)
    write_yaml(path, data)


ARN_BASE = "arn:aws:sagemaker:eu-west-1:111111111111"
GOOD = {"inputs": {"train": {"s3_uri": "s3://data/iris/"}}}


@pytest.mark.parametrize(
    ("training", "top", "where", "says"),
    [
        (
            {**GOOD, "instance_count": 2},
            {},
            "training.distribution",
            "set distribution: torch_distributed",
        ),
        (
            {**GOOD, "max_runtime_seconds": 7200, "max_wait_seconds": 3600},
            {},
            "training.max_wait_seconds",
            "at least max_runtime_seconds",
        ),
        ({"inputs": {}}, {}, "training.inputs", "at least one input channel"),
        (
            {"inputs": {"train": {"s3_uri": "s3://data/iris/", "version_id": "v"}}},
            {},
            "training.inputs.train.version_id",
            "name the object",
        ),
        (
            {**GOOD, "hyperparameters": {"sagemaker_program": "x.py"}},
            {},
            "training.hyperparameters",
            "set by the pipeline",
        ),
        ({**GOOD, "schedule": "every week"}, {}, "training.schedule", "rate(7 days)"),
        ({**GOOD, "entry_point": "fit.py"}, {}, "training.entry_point", "does not exist in iris/"),
        (
            {"inputs": {"train": {"s3_uri": "https://data/iris/"}}},
            {},
            "training.inputs.train.s3_uri",
            "(got 'https://data/iris/')",
        ),
        (GOOD, {"quality": None}, "training", "add a quality section"),
    ],
)
def test_each_bad_training_config_names_the_field_and_the_fix(
    project_copy: Path, training: dict[str, Any], top: dict[str, Any], where: str, says: str
) -> None:
    _with_training(project_copy, training, **top)
    with pytest.raises(ConfigError) as error:
        load_project(project_copy)
    message = str(error.value)
    assert "models/iris/config.yaml" in message
    assert where in message, message
    assert says in message, message


@pytest.mark.parametrize(
    ("artifact", "where", "says"),
    [
        ({"source": "registry"}, "artifact.model_package_arn", "source 'registry' needs"),
        (
            {"model_package_arn": f"{ARN_BASE}:model-package/staging-iris/3"},
            "artifact.model_package_arn",
            "set source: registry",
        ),
        (
            {
                "source": "registry",
                "model_package_arn": f"{ARN_BASE}:model-package-group/staging-iris",
            },
            "artifact.model_package_arn",
            "model-package/staging-iris/3",
        ),
        ({"source": "s3"}, "artifact.model_data", "source 's3' needs"),
    ],
)
def test_each_bad_artifact_source_names_the_field_and_the_fix(
    project_copy: Path, artifact: dict[str, Any], where: str, says: str
) -> None:
    import yaml

    path = project_copy / "models" / "iris" / "config.yaml"
    data = yaml.safe_load(path.read_text())
    data["artifact"].update(artifact)
    write_yaml(path, data)
    with pytest.raises(ConfigError) as error:
        load_project(project_copy)
    assert where in str(error.value), str(error.value)
    assert says in str(error.value), str(error.value)
