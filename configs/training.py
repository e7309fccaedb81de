"""Training: a SageMaker Pipeline that trains, checks `quality` and registers a model package.

Limits below are CreateTrainingJob's (API_ResourceConfig, API_StoppingCondition, API_Channel).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from configs.base import Items, RelPath, Strict, fail
from configs.evaluation import METRICS, metric_kind


class Quality(Strict):
    """The bar a trained model must clear on its held-out split before it may ship.

    The model's train.py prints `metric <metric>=<value>;` and writes it to metrics.json; the
    quality-gate test and the training pipeline compare that value with `threshold`.
    """

    metric: Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9_]*$")] = Field(
        description="Name of the held-out metric that train.py reports, for example "
        "'test_accuracy'.",
    )
    threshold: Annotated[float, Field(strict=False, allow_inf_nan=False)] = Field(
        description="The value the metric must reach: at least this when greater_is_better, "
        "at most this otherwise.",
    )
    greater_is_better: StrictBool = Field(
        True, description="true for scores such as accuracy, false for losses and errors."
    )
    max_regression: Annotated[float, Field(strict=False, allow_inf_nan=False, ge=0)] = Field(
        0.0,
        description="How far the metric on the evaluation set may fall behind the base "
        "branch's in a PR (for example 0.02) before the PR's gate asks for the "
        "allow-regression label; 0: any drop does.",
    )

    def passes(self, value: float) -> bool:
        return value >= self.threshold if self.greater_is_better else value <= self.threshold

    def regressed(self, *, base: float, head: float) -> bool:
        """True when `head` falls behind `base` by more than `max_regression`."""
        drop = base - head if self.greater_is_better else head - base
        return drop > self.max_regression + 1e-9

    @model_validator(mode="after")
    def _bar_can_fail(self) -> Quality:
        """A bar on a metric bounded by 0 and 1 (an accuracy, an error rate) that every model
        passes, or none can, gates nothing."""
        kind = metric_kind(self.metric)
        if kind is None:
            return self
        if self.greater_is_better != METRICS[kind]:
            better = "higher" if METRICS[kind] else "lower"
            fail(
                ("greater_is_better",),
                f"{self.metric!r} is better when {better}; set greater_is_better: "
                f"{str(METRICS[kind]).lower()}",
                value=self.greater_is_better,
            )
        never_fails = self.threshold <= 0 if self.greater_is_better else self.threshold >= 1
        never_passes = self.threshold > 1 if self.greater_is_better else self.threshold < 0
        if never_fails or never_passes:
            what = "every model passes it" if never_fails else "no model can reach it"
            room = "above 0 and at most 1" if self.greater_is_better else "at least 0, below 1"
            fail(
                ("threshold",),
                f"{self.metric!r} lies between 0 and 1, so a bar of {self.threshold:g} gates "
                f"nothing ({what}); choose a threshold {room}",
                value=self.threshold,
            )
        if self.max_regression >= 1:
            fail(
                ("max_regression",),
                f"{self.metric!r} lies between 0 and 1, so an allowed drop of "
                f"{self.max_regression:g} never fails; choose less than 1, for example 0.02",
                value=self.max_regression,
            )
        return self


S3_URI_PATTERN = r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?$"
# SageMaker training instances (ml.<family>.<size>); hosting-only families such as ml.inf1 are
# refused by the service at deploy time.
TrainingInstanceType = Annotated[
    StrictStr,
    Field(
        pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$",
        description="SageMaker training instance type, for example 'ml.m5.xlarge'.",
    ),
]


class TrainingInput(Strict):
    """One input channel: an S3 prefix, or one object pinned to a version."""

    s3_uri: StrictStr = Field(
        description="s3://bucket/prefix/ (every object under it) or s3://bucket/key (one "
        "object). The pipeline's role may read exactly this.",
        pattern=S3_URI_PATTERN,
    )
    version_id: Annotated[StrictStr, Field(min_length=1, max_length=1024)] | None = Field(
        None,
        description="S3 object version the model must be trained on; needs s3_uri to name one "
        "object. Passed as a pipeline parameter and recorded on the model package.",
    )
    content_type: StrictStr | None = Field(
        None, description="MIME type of the channel's data, for example 'text/csv'."
    )

    @model_validator(mode="after")
    def _version_names_an_object(self) -> TrainingInput:
        if self.version_id is not None and (
            self.s3_uri.endswith("/") or "/" not in self.s3_uri.removeprefix("s3://")
        ):
            fail(
                ("version_id",),
                f"a version pins one object, but {self.s3_uri!r} is a prefix; name the object "
                "(s3://bucket/key) or remove version_id",
                value=self.version_id,
            )
        return self


HyperparameterValue = StrictStr | StrictInt | StrictBool | Annotated[float, Field(strict=True)]
MetricName = Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class Training(Strict):
    """How the model is trained: a SageMaker Pipeline per environment that trains on the
    declared inputs, checks the `quality` metric and registers a model package for approval."""

    enabled: StrictBool = Field(
        True, description="false: no pipeline in this environment (for example in prod)."
    )
    entry_point: RelPath = Field(
        "train.py",
        description="Training script at the top of the model folder; it follows SageMaker's "
        "training contract (SM_MODEL_DIR, SM_CHANNEL_<NAME>, hyperparameters as --name value).",
    )
    instance_type: TrainingInstanceType = "ml.m5.xlarge"
    instance_count: StrictInt = Field(
        1, ge=1, le=100, description="Training instances; more than 1 needs torch_distributed."
    )
    volume_gb: StrictInt = Field(
        30, ge=1, le=16384, description="Storage volume per instance in GB (1-16384)."
    )
    distribution: Literal["none", "torch_distributed"] = Field(
        "none",
        description="'torch_distributed': SageMaker starts train.py under torchrun on every "
        "instance (DDP); 'none': one process per instance.",
    )
    spot: StrictBool = Field(
        True,
        description="Managed spot training, checkpointed to the artifact bucket so an "
        "interrupted job resumes.",
    )
    max_runtime_seconds: StrictInt = Field(
        3600, ge=1, le=2419200, description="Training time limit in seconds (at most 28 days)."
    )
    max_wait_seconds: StrictInt | None = Field(
        7200,
        ge=1,
        le=2419200,
        description="Spot only: time limit including waiting for spot capacity, at least "
        "max_runtime_seconds.",
    )
    hyperparameters: dict[
        Annotated[StrictStr, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,255}$")],
        HyperparameterValue,
    ] = Field(
        default_factory=dict,
        description="Passed to the script as --name value (and in SM_HPS).",
    )
    inputs: dict[
        Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")], TrainingInput
    ] = Field(
        default_factory=dict,
        description="Input channels by name (the script reads SM_CHANNEL_<NAME>), each an S3 "
        "location; every value becomes a pipeline parameter.",
    )
    metrics: Items[MetricName] = Field(
        (),
        description="Further metrics the script prints as 'name=value;' to chart in the "
        "training job (quality.metric is always captured).",
    )
    schedule: StrictStr | None = Field(
        None,
        description="EventBridge schedule that starts the pipeline, for example "
        "'rate(7 days)' or 'cron(0 3 ? * MON *)'; unset: started by hand.",
        pattern=r"^(rate\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\)|cron\([^()]+\))$",
    )

    @field_validator("hyperparameters", mode="after")
    @classmethod
    def _no_reserved_hyperparameters(cls, value: dict[str, Any]) -> dict[str, Any]:
        reserved = sorted(k for k in value if k.lower().startswith("sagemaker"))
        if reserved:
            raise ValueError(f"{reserved} are set by the pipeline; remove them from the config")
        return value

    @model_validator(mode="after")
    def _limits(self, info: ValidationInfo) -> Training:
        if self.instance_count > 1 and self.distribution == "none":
            fail(
                ("distribution",),
                f"{self.instance_count} instances without distribution would each train their "
                "own copy; set distribution: torch_distributed or instance_count: 1",
                value=self.distribution,
            )
        if self.spot and (
            self.max_wait_seconds is None or self.max_wait_seconds < self.max_runtime_seconds
        ):
            fail(
                ("max_wait_seconds",),
                f"spot training needs max_wait_seconds of at least max_runtime_seconds "
                f"({self.max_runtime_seconds}); raise it or set spot: false",
                value=self.max_wait_seconds,
            )
        folder = (info.context or {}).get("model_dir")
        if folder is not None and not (folder / self.entry_point).is_file():
            fail(
                ("entry_point",),
                f"{self.entry_point!r} does not exist in {folder.name}/; add the training "
                "script or fix the name",
                value=self.entry_point,
            )
        return self
