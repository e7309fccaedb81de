"""The parts of a training pipeline's definition that record each execution's run in MLflow.

With tracking on (`tracking.mlflow.enabled` in the environment), the definition names the
tracking server by the `${TrackingServerArn}` placeholder (`pipeline_contract`): the pipeline's
MLflow configuration, the training job's (its run is named after the execution) with the
variables the job's `modelkit.tracking` reads to log into that same run, and the registered
package's record of that run. Off, each part is empty and the definition is as before.
"""

from __future__ import annotations

from typing import Any

from stacks.constructs.pipeline_contract import TRACKING_SERVER_ARN, placeholder
from stacks.pipeline_json import Expressions, sdk_shapes

# What the training job's modelkit.tracking reads (models/modelkit/tracking.py; a test checks
# the names agree): where to log, the experiment, the run to join or create, the code's sha256.
TRACKING_ENVIRONMENT = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_EXPERIMENT_NAME",
    "MODELKIT_RUN_NAME",
    "MODELKIT_CODE_SHA256",
)
# CustomerMetadataProperties keys of a registered package that name its run.
RUN_METADATA = ("mlflow-tracking-server", "mlflow-experiment", "mlflow-run-name", "mlflow-run-id")


def pipeline_mlflow_config(experiment: str) -> dict[str, str] | None:
    """The definition's `MlflowConfig` (as the SDK's `Pipeline(mlflow_config=...)` writes it)."""
    if not experiment:
        return None
    return {
        "MlflowResourceArn": placeholder(TRACKING_SERVER_ARN),
        "MlflowExperimentName": experiment,
    }


def _execution_id(exprs: Expressions) -> str:
    from sagemaker.core.workflow.execution_variables import ExecutionVariables

    return exprs.ref(ExecutionVariables.PIPELINE_EXECUTION_ID.expr)


def tracked_job(*, experiment: str, code_sha256: str, exprs: Expressions) -> dict[str, Any]:
    """CreateTrainingJob members (snake_case, SDK shapes) that make the job record its run:
    its `MlflowConfig` and its `Environment`. Empty without an experiment."""
    if not experiment:
        return {}
    server = placeholder(TRACKING_SERVER_ARN)
    run_name = _execution_id(exprs)
    values = (server, experiment, run_name, code_sha256)
    return {
        "environment": dict(zip(TRACKING_ENVIRONMENT, values, strict=True)),
        "mlflow_config": sdk_shapes().MlflowConfig(
            mlflow_resource_arn=server,
            mlflow_experiment_name=experiment,
            mlflow_run_name=run_name,
        ),
    }


def run_metadata(*, experiment: str, train_step: str, exprs: Expressions) -> dict[str, Any]:
    """The package's record of the run behind it: the server, the experiment, the run's name
    (the execution id) and its id as the training job reports it (`MlflowDetails`)."""
    if not experiment:
        return {}
    from sagemaker.core.workflow.properties import Properties

    train = Properties(step_name=train_step, shape_name="DescribeTrainingJobResponse")
    values = (
        placeholder(TRACKING_SERVER_ARN),
        experiment,
        _execution_id(exprs),
        exprs.ref(train.MlflowDetails.MlflowRunId.expr),
    )
    return dict(zip(RUN_METADATA, values, strict=True))
