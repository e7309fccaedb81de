"""An environment's run tracking: a SageMaker managed MLflow tracking server per training stack.

`tracking: {mlflow: {enabled: true}}` in `configs/<env>.yaml` gives every model that trains in
that environment an `AWS::SageMaker::MlflowTrackingServer` named `<env>-<model>`, its artifact
store in the model's artifact bucket; each pipeline execution logs its run there and the
registered model package records the run's id. Off (the default), nothing is created and the
templates are the same as without this section. Limits are CreateMlflowTrackingServer's
(API_CreateMlflowTrackingServer).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictStr

from configs.base import Strict

# DescribeMlflowTrackingServer's MlflowVersion and WeeklyMaintenanceWindowStart patterns, with
# digits spelled [0-9] (see configs.base).
MLFLOW_VERSION_PATTERN = r"^[0-9]+(\.[0-9]+)+$"
MAINTENANCE_WINDOW_PATTERN = r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun):([01][0-9]|2[0-3]):([0-5][0-9])$"


class Mlflow(Strict):
    """A SageMaker managed MLflow tracking server for each model that trains here."""

    enabled: StrictBool = Field(
        False,
        description="true: a managed MLflow tracking server '<env>-<model>' per model with a "
        "training pipeline; each pipeline execution logs its run there.",
    )
    server_size: Literal["Small", "Medium", "Large"] = Field(
        "Small",
        description="TrackingServerSize: Small for a team of up to 25 users, Medium up to 50, "
        "Large up to 100.",
    )
    mlflow_version: Annotated[StrictStr, Field(pattern=MLFLOW_VERSION_PATTERN)] | None = Field(
        None,
        description="The server's MLflow version as a quoted string, for example '3.0'; "
        "unset: SageMaker's default.",
    )
    maintenance_window: Annotated[StrictStr, Field(pattern=MAINTENANCE_WINDOW_PATTERN)] | None = (
        Field(
            None,
            description="Start of the weekly maintenance window in UTC as 'Day:HH:MM', for "
            "example 'Sun:03:00'; unset: SageMaker chooses.",
        )
    )


class Tracking(Strict):
    """Where training runs are recorded in this environment (besides each job's own logs)."""

    mlflow: Mlflow = Field(
        default_factory=Mlflow,
        description="SageMaker managed MLflow: one tracking server per model that trains here.",
    )
