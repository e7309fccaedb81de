"""Typed configuration: what `configs/<env>.yaml` and `models/<name>/config.yaml` may say.

Every model is frozen and forbids unknown keys, so a typo in YAML is an error and never a silent
default. Scalars are strict (a quoted "2" is not an instance count); lists become tuples. Field
descriptions double as the "fix" line of error messages and as hover text in editors through the
generated JSON Schemas in `configs/schema/`.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Annotated, Any, ClassVar, Literal, NoReturn, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

STRICT = ConfigDict(extra="forbid", frozen=True, strict=True)
# Patterns spell digits [0-9]: pydantic's regex engine reads \d as any Unicode digit, so
# "١٢٣..." (Arabic-Indic) or full-width digits would pass as an account id.

# Model and environment names end up in stack names ([A-Za-z][A-Za-z0-9-]*, 128 chars) and in
# SageMaker endpoint names (^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$): only their intersection is allowed.
NAME_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
ENDPOINT_NAME_MAX = 63
# Shared library folders are imported as Python packages.
PACKAGE_PATTERN = r"^[a-z_][a-z0-9_]*$"
# A model package version in a group: arn:<partition>:sagemaker:<region>:<account>:model-package/
# <group>/<version> (API_DescribeModelPackage, ModelPackageArn).
MODEL_PACKAGE_ARN_PATTERN = (
    r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package/"
    r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}/[0-9]+$"
)


class Strict(BaseModel):
    model_config = STRICT


def Items(item: Any, **kwargs: Any) -> Any:
    """A YAML list, held as a tuple so the models stay hashable and frozen."""
    return Annotated[tuple[item, ...], Field(strict=False, **kwargs)]


def _relative_path(value: str) -> str:
    path = PurePosixPath(value)
    if value.strip() == "" or path.is_absolute() or ".." in path.parts or "\\" in value:
        raise ValueError(f"{value!r} must be a relative path inside the model folder, without '..'")
    return str(path)


RelPath = Annotated[StrictStr, Field(min_length=1)]


# --------------------------------------------------------------------------------------------
# Model: the bundle (same in every environment) and what may differ per environment.
# --------------------------------------------------------------------------------------------


class Framework(Strict):
    """Which SageMaker PyTorch inference container serves the bundle."""

    pytorch_version: StrictStr = Field(
        "2.6",
        description="PyTorch version of the SageMaker inference image, as the sagemaker SDK "
        "knows it (for example '2.6').",
        pattern=r"^[0-9]+\.[0-9]+(\.[0-9]+)?$",
    )
    python_version: StrictStr = Field(
        "py312",
        description="Python version tag of the inference image (for example 'py312').",
        pattern=r"^py3[0-9]+$",
    )


class Artifact(Strict):
    """What goes into model.tar.gz: weights at the top, code under code/."""

    weights: Items(RelPath, min_length=1) = Field(  # type: ignore[valid-type]
        description="Weight files, relative to the model folder; placed at the archive's top.",
    )
    entry_point: RelPath = Field(
        "inference.py",
        description="Inference script relative to the model folder (model_fn, input_fn, "
        "predict_fn, output_fn); becomes SAGEMAKER_PROGRAM.",
    )
    code: Items(RelPath, min_length=1) = Field(  # type: ignore[valid-type]
        ("*.py", "requirements.txt"),
        description="Glob patterns, relative to the model folder, of files placed under code/.",
    )
    shared: Items(Annotated[StrictStr, Field(pattern=PACKAGE_PATTERN)]) = Field(  # type: ignore[valid-type]
        (),
        description="Shared library folders under models/ (folders without config.yaml) that "
        "are copied to code/<name>/ so the model can import them.",
    )

    source: Literal["bundle", "s3", "registry"] = Field(
        "bundle",
        description="What the endpoint serves: 'bundle' (model.tar.gz built from this folder at "
        "synth), 's3' (model_data: a pinned archive and its sha256, for example a training "
        "job's output) or 'registry' (model_package_arn: an approved model package).",
    )
    model_data: ModelData | None = Field(
        None, description="With source 's3': the archive's s3_uri and sha256."
    )
    compression: Literal["gzip", "none"] = Field(
        "gzip",
        description="'gzip': the endpoint downloads model.tar.gz and extracts it. 'none' (large "
        "models): the bundle's files are uploaded as they are under one S3 prefix of the "
        "artifact bucket and SageMaker copies them without extracting (ModelDataSource, "
        "S3Prefix, CompressionType None); only with source 'bundle', not with serverless "
        "variants. The model's other variants and a training pipeline are unaffected.",
    )
    model_package_arn: StrictStr | None = Field(
        None,
        description="With source 'registry': the ARN of an approved model package version, "
        "for example 'arn:aws:sagemaker:eu-west-1:111111111111:model-package/staging-iris/3' "
        "(`python -m ops promote` prints it).",
        pattern=MODEL_PACKAGE_ARN_PATTERN,
    )

    @model_validator(mode="after")
    def _source_is_pinned(self) -> Artifact:
        given = {"s3": self.model_data is not None, "registry": self.model_package_arn is not None}
        field = {"s3": "model_data", "registry": "model_package_arn"}
        for source, present in given.items():
            if source == self.source and not present:
                _fail(
                    (field[source],),
                    f"source {source!r} needs artifact.{field[source]}; add it, or set source "
                    "back to 'bundle'",
                    None,
                )
            if source != self.source and present:
                _fail(
                    (field[source],),
                    f"artifact.{field[source]} is only read with source {source!r} (source is "
                    f"{self.source!r}); set source: {source} or remove it",
                    "set",
                )
        if self.compression == "none" and self.source != "bundle":
            _fail(
                ("compression",),
                f"compression 'none' uploads the files this folder bundles; with source "
                f"{self.source!r} SageMaker reads a pinned model.tar.gz or model package: remove "
                "compression or set source back to 'bundle'",
                self.compression,
            )
        return self

    @field_validator("weights", "code", mode="after")
    @classmethod
    def _paths_stay_inside(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_relative_path(v) for v in values)

    @field_validator("entry_point", mode="after")
    @classmethod
    def _entry_point_inside(cls, value: str) -> str:
        value = _relative_path(value)
        if "/" in value or not value.endswith(".py"):
            raise ValueError(
                f"{value!r} must be a Python file (.py) at the top of the model folder; "
                "SageMaker imports SAGEMAKER_PROGRAM from code/"
            )
        return value

    @model_validator(mode="after")
    def _files_exist(self, info: ValidationInfo) -> Artifact:
        folder = (info.context or {}).get("model_dir")
        if folder is None:
            return self
        for index, weight in enumerate(self.weights):
            if not (folder / weight).is_file():
                raise ValueError(
                    f"weights[{index}] {weight!r} does not exist in {folder.name}/ "
                    "(train the model first, or fix the path)"
                )
        if not (folder / self.entry_point).is_file():
            raise ValueError(f"entry_point {self.entry_point!r} does not exist in {folder.name}/")
        for name in self.shared:
            shared = folder.parent / name
            if not shared.is_dir():
                raise ValueError(f"shared folder models/{name}/ does not exist")
            if (shared / "config.yaml").exists():
                raise ValueError(f"shared folder models/{name}/ is a model (it has config.yaml)")
        return self


InstanceType = Annotated[
    StrictStr,
    Field(
        pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$",
        description="SageMaker hosting instance type, for example 'ml.m5.large'.",
    ),
]


class Vpc(Strict):
    """Subnets and security groups the model's containers attach to (Model.VpcConfig)."""

    # AWS::SageMaker::Model VpcConfig: Subnets 1-16 items, SecurityGroupIds 1-5 items.
    subnet_ids: Items(  # type: ignore[valid-type]
        Annotated[StrictStr, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")], min_length=1, max_length=16
    ) = Field(
        description="Subnet ids, for example ['subnet-0123456789abcdef0']; use subnets in at "
        "least two Availability Zones for more than one instance (1-16).",
    )
    security_group_ids: Items(  # type: ignore[valid-type]
        Annotated[StrictStr, Field(pattern=r"^sg-[0-9a-f]{8,17}$")], min_length=1, max_length=5
    ) = Field(
        description="Security group ids, for example ['sg-0123456789abcdef0'] (1-5).",
    )


class Serving(Strict):
    """How the endpoint's production variant is hosted."""

    instance_type: InstanceType = "ml.m5.large"
    instance_count: StrictInt = Field(
        1, ge=1, le=100, description="Instances behind the variant, from 1 to 100."
    )
    network_isolation: StrictBool = Field(
        True,
        description="Run the container without network access. The serving container installs "
        "code/requirements.txt at start-up, which needs the network: vendor dependencies "
        "into the bundle, or set this to false.",
    )
    environment: dict[
        Annotated[StrictStr, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,1023}$")], StrictStr
    ] = Field(
        default_factory=dict,
        description="Extra container environment variables (SAGEMAKER_* are set by the stack).",
    )
    vpc: Vpc | None = Field(
        None,
        description="Run the model's containers in these subnets and security groups (every "
        "Model of the endpoint, variants included); unset: no VPC.",
    )

    @field_validator("environment", mode="after")
    @classmethod
    def _no_reserved_variables(cls, value: dict[str, str]) -> dict[str, str]:
        reserved = sorted(k for k in value if k.startswith("SAGEMAKER_"))
        if reserved:
            raise ValueError(f"{reserved} are set by the stack; remove them from the config")
        return value


# --------------------------------------------------------------------------------------------
# Rollout, variants, alarms, autoscaling, data capture and dashboard. Ranges below are
# SageMaker's and CloudFormation's own limits, cited next to each; combinations that only fail
# once several sections meet are checked by `ModelSpec._combinations` after merging.
# --------------------------------------------------------------------------------------------

# A capacity: a percentage of a variant's instances ("10%") or a number of instances (1).
# SageMaker's CapacitySize is {Type: CAPACITY_PERCENT | INSTANCE_COUNT, Value >= 1}
# (API_CapacitySize; AWS::SageMaker::Endpoint CapacitySize).
Capacity = (
    Annotated[StrictStr, Field(pattern=r"^[1-9][0-9]?%$|^100%$")]
    | Annotated[StrictInt, Field(ge=1)]
)


def percent_of(value: str | int) -> int | None:
    """`"10%"` -> 10; an instance count -> None."""
    return int(value[:-1]) if isinstance(value, str) else None


def _percent_between(value: str | int, low: int, high: int, what: str) -> str | int:
    percent = percent_of(value)
    if percent is not None and not low <= percent <= high:
        raise ValueError(f"{what} must be {low}-{high}% of the variant's instances")
    return value


# TrafficRoutingConfig.WaitIntervalInSeconds and RollingUpdatePolicy.WaitIntervalInSeconds:
# 0-3600 (API_TrafficRoutingConfig, API_RollingUpdatePolicy).
BakeSeconds = Annotated[StrictInt, Field(ge=0, le=3600)]


class AllAtOnce(Strict):
    """Blue/green: the new fleet takes all traffic in one step, then bakes."""

    bake_seconds: BakeSeconds = Field(
        300,
        description="Seconds the new fleet bakes with all traffic while the rollback alarms "
        "watch it, before the old fleet is let go (0-3600).",
    )


class Canary(Strict):
    """Blue/green canary: a small part of the new fleet first, then the rest."""

    size: Capacity = Field(
        "10%",
        description="Canary size: a percentage like '10%' (1-50%) or an instance count that is "
        "at most half of the variant's instances (TrafficRoutingConfig.CanarySize).",
    )
    bake_seconds: BakeSeconds = Field(
        600,
        description="Seconds the canary bakes while the rollback alarms watch it (0-3600).",
    )

    @field_validator("size", mode="after")
    @classmethod
    def _canary_percent(cls, value: str | int) -> str | int:
        # "Value must be less than or equal to 50% of the variant's total instance count."
        # (AWS::SageMaker::Endpoint TrafficRoutingConfig, CanarySize)
        return _percent_between(value, 1, 50, "a canary")


class Linear(Strict):
    """Blue/green linear: the new fleet takes traffic in equal steps."""

    step: Capacity = Field(
        "20%",
        description="Step size: a percentage like '20%' (10-50%) or an instance count that is "
        "10-50% of the variant's instances (TrafficRoutingConfig.LinearStepSize).",
    )
    bake_seconds: BakeSeconds = Field(
        300, description="Seconds each step bakes while the rollback alarms watch it (0-3600)."
    )

    @field_validator("step", mode="after")
    @classmethod
    def _step_percent(cls, value: str | int) -> str | int:
        # "Value must be 10-50% of the variant's total instance count." (LinearStepSize)
        return _percent_between(value, 10, 50, "a linear step")


class Rolling(Strict):
    """Rolling: the fleet is replaced batch by batch, without a second full fleet."""

    batch: Capacity = Field(
        "25%",
        description="Batch size: a percentage like '25%' (5-50%) or an instance count that is "
        "5-50% of the variant's instances (RollingUpdatePolicy.MaximumBatchSize).",
    )
    bake_seconds: BakeSeconds = Field(
        300, description="Seconds each batch bakes while the rollback alarms watch it (0-3600)."
    )
    rollback_batch: Capacity | None = Field(
        None,
        description="Batch size when rolling back, as a percentage or instance count; unset "
        "brings the whole old fleet back at once (RollingUpdatePolicy.RollbackMaximumBatchSize).",
    )

    @field_validator("batch", mode="after")
    @classmethod
    def _batch_percent(cls, value: str | int) -> str | int:
        # "Value must be between 5% to 50% of the variant's total instance count."
        # (API_RollingUpdatePolicy, MaximumBatchSize)
        return _percent_between(value, 5, 50, "a rolling batch")


Strategy = Literal["all_at_once", "canary", "linear", "rolling"]


class Rollout(Strict):
    """How a new model version replaces the running one (SageMaker deployment guardrails)."""

    strategy: Strategy = Field(
        "all_at_once",
        description="all_at_once, canary or linear (blue/green traffic shifting), or rolling.",
    )
    all_at_once: AllAtOnce = AllAtOnce()
    canary: Canary = Canary()
    linear: Linear = Linear()
    rolling: Rolling = Rolling()
    # BlueGreenUpdatePolicy.TerminationWaitInSeconds: 0-3600 (API_BlueGreenUpdatePolicy).
    termination_wait_seconds: StrictInt = Field(
        0,
        ge=0,
        le=3600,
        description="Blue/green only: seconds the old fleet is kept after all traffic moved, "
        "so a late rollback is instant (0-3600).",
    )
    # MaximumExecutionTimeoutInSeconds: 600-28800 (API_BlueGreenUpdatePolicy,
    # API_RollingUpdatePolicy); it "should be larger than the total waiting time".
    max_execution_seconds: StrictInt | None = Field(
        None,
        ge=600,
        le=28800,
        description="Time limit of the whole deployment in seconds (600-28800); must exceed "
        "the bake and termination waits it contains. Unset: SageMaker's default.",
    )


SageMakerName = Annotated[
    StrictStr, Field(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", max_length=63)
]


class ModelData(Strict):
    """A model version already in S3, pinned by its digest."""

    s3_uri: StrictStr = Field(
        description="s3://bucket/key of a model.tar.gz in SageMaker's layout.",
        pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/\S+\.tar\.gz$",
    )
    sha256: StrictStr = Field(
        description="sha256 of that archive (64 hex digits); recorded in the template so a "
        "reviewer sees which bytes are served.",
        pattern=r"^[0-9a-f]{64}$",
    )


class Serverless(Strict):
    """SageMaker Serverless Inference for a variant instead of instances."""

    # ServerlessConfig: MemorySizeInMB 1024-6144 in 1 GB steps; MaxConcurrency and
    # ProvisionedConcurrency 1-200, provisioned <= max (AWS::SageMaker::EndpointConfig
    # ServerlessConfig).
    memory_mb: Literal[1024, 2048, 3072, 4096, 5120, 6144] = Field(
        2048, description="Memory in MB: 1024, 2048, 3072, 4096, 5120 or 6144."
    )
    max_concurrency: StrictInt = Field(
        5, ge=1, le=200, description="Concurrent invocations, 1-200."
    )
    provisioned_concurrency: StrictInt | None = Field(
        None,
        ge=1,
        le=200,
        description="Warm concurrency kept ready (1-200, at most max_concurrency); unset: none.",
    )

    @model_validator(mode="after")
    def _provisioned_within_max(self) -> Serverless:
        if (
            self.provisioned_concurrency is not None
            and self.provisioned_concurrency > self.max_concurrency
        ):
            _fail(
                ("provisioned_concurrency",),
                f"provisioned concurrency {self.provisioned_concurrency} is above "
                f"max_concurrency {self.max_concurrency}; lower it or raise max_concurrency",
                self.provisioned_concurrency,
            )
        return self


class VariantSource(Strict):
    """Which model version a variant serves: this folder, another model folder, or S3."""

    model: Annotated[StrictStr, Field(pattern=NAME_PATTERN)] | None = Field(
        None,
        description="Another model (a folder under models/ with config.yaml) whose bundle this "
        "variant serves; unset: this model's own bundle.",
    )
    model_data: ModelData | None = Field(
        None, description="A model.tar.gz already in S3 with its sha256, instead of a folder."
    )
    instance_type: InstanceType | None = Field(
        None, description="Hosting instance type; unset: serving.instance_type."
    )
    instance_count: StrictInt | None = Field(
        None, ge=1, le=100, description="Instances, 1-100; unset: serving.instance_count."
    )

    @model_validator(mode="after")
    def _one_source(self, info: ValidationInfo) -> VariantSource:
        if self.model is not None and self.model_data is not None:
            _fail(
                ("model_data",),
                "give either 'model' (a model folder) or 'model_data' (an S3 archive), not both",
                self.model,
            )
        folder = (info.context or {}).get("model_dir")
        if folder is not None and self.model is not None:
            other = folder.parent / self.model
            if not (other / "config.yaml").is_file():
                _fail(
                    ("model",),
                    f"models/{self.model}/ is not a model folder (it needs a config.yaml); "
                    "name a model under models/ or use model_data",
                    self.model,
                )
        return self


class Variant(VariantSource):
    """A production variant: gets a share of live traffic given by its weight."""

    weight: Annotated[float, Field(strict=False, ge=0)] = Field(
        1.0,
        description="Relative share of live traffic (for example 90 and 10); 0 drains it.",
    )
    serverless: Serverless | None = Field(
        None, description="Serve with Serverless Inference instead of instances."
    )


class ShadowVariant(VariantSource):
    """A shadow variant: receives a copy of live requests; its answers are only recorded."""

    sampling_percent: StrictInt = Field(
        100,
        ge=1,
        le=100,
        description="Percentage of live requests copied to the shadow variant (1-100).",
    )


class AlarmRule(Strict):
    """One CloudWatch alarm: when it fires, whether it rolls a deployment back and pages."""

    enabled: StrictBool = True
    threshold: Annotated[float, Field(strict=False, gt=0)]
    # SageMaker publishes endpoint metrics every minute: periods are whole minutes.
    period_seconds: StrictInt = Field(
        60, ge=60, le=86400, multiple_of=60, description="Period in seconds, a multiple of 60."
    )
    evaluation_periods: StrictInt = Field(
        2, ge=1, le=1440, description="Periods evaluated, 1-1440."
    )
    datapoints_to_alarm: StrictInt | None = Field(
        None,
        ge=1,
        description="Breaching periods (of evaluation_periods) that fire the alarm; unset: all.",
    )
    rollback: StrictBool = Field(
        False, description="Roll a deployment back when this alarm fires during it."
    )
    page: StrictBool = Field(
        True, description="Send alarm and OK notifications to the paging topic."
    )

    @model_validator(mode="after")
    def _datapoints_within_periods(self) -> AlarmRule:
        if self.datapoints_to_alarm is not None and (
            self.datapoints_to_alarm > self.evaluation_periods
        ):
            _fail(
                ("datapoints_to_alarm",),
                f"{self.datapoints_to_alarm} datapoints cannot fire within "
                f"{self.evaluation_periods} evaluation periods; lower it",
                self.datapoints_to_alarm,
            )
        return self


class ErrorRate5xx(AlarmRule):
    """Invocation 5XX errors as a percentage of invocations (metric math)."""

    threshold: Annotated[float, Field(strict=False, gt=0, le=100)] = Field(
        1.0, description="Percent of invocations answered 5XX, for example 1.0."
    )
    rollback: StrictBool = True


class ErrorRate4xx(AlarmRule):
    """Invocation 4XX errors as a percentage of invocations: callers sending bad input."""

    enabled: StrictBool = False
    threshold: Annotated[float, Field(strict=False, gt=0, le=100)] = Field(
        5.0, description="Percent of invocations answered 4XX, for example 5.0."
    )


class ModelLatencyP99(AlarmRule):
    """p99 ModelLatency: time the container takes to answer."""

    threshold: Annotated[float, Field(strict=False, gt=0)] = Field(
        500.0, description="p99 model latency in milliseconds, for example 500."
    )
    rollback: StrictBool = True


class OverheadLatencyP99(AlarmRule):
    """p99 OverheadLatency: time SageMaker adds around the container."""

    threshold: Annotated[float, Field(strict=False, gt=0)] = Field(
        100.0, description="p99 overhead latency in milliseconds, for example 100."
    )


class Utilization(AlarmRule):
    """An instance utilisation metric, in percent."""

    threshold: Annotated[float, Field(strict=False, gt=0, le=100)] = Field(
        90.0,
        description="Percent of the instance (CPU is scaled by the instance's vCPUs), for "
        "example 90.",
    )
    evaluation_periods: StrictInt = Field(
        5, ge=1, le=1440, description="Periods evaluated, 1-1440."
    )


class Alarms(Strict):
    """The endpoint's alarms, per production variant. Thresholds are per alarm."""

    error_rate_5xx: ErrorRate5xx = ErrorRate5xx()
    error_rate_4xx: ErrorRate4xx = ErrorRate4xx()
    model_latency_p99: ModelLatencyP99 = ModelLatencyP99()
    overhead_latency_p99: OverheadLatencyP99 = OverheadLatencyP99()
    cpu_utilization: Utilization = Utilization()
    memory_utilization: Utilization = Utilization()
    disk_utilization: Utilization = Utilization(threshold=80.0)

    def rules(self) -> dict[str, AlarmRule]:
        return {name: getattr(self, name) for name in type(self).model_fields}


# Alarms on instance metrics; serverless variants have no instances to measure.
INSTANCE_ALARMS = frozenset({"cpu_utilization", "memory_utilization", "disk_utilization"})
# AutoRollbackConfig.Alarms: "Minimum number of 1 item. Maximum number of 10 items."
# (API_AutoRollbackConfig; AWS::SageMaker::Endpoint AutoRollbackConfig)
MAX_ROLLBACK_ALARMS = 10


class Autoscaling(Strict):
    """Target tracking on SageMakerVariantInvocationsPerInstance for each instance variant."""

    enabled: StrictBool = False
    min_instances: StrictInt = Field(1, ge=1, le=100, description="Fewest instances, 1-100.")
    max_instances: StrictInt = Field(4, ge=1, le=100, description="Most instances, 1-100.")
    target_invocations_per_instance: Annotated[float, Field(strict=False, gt=0)] = Field(
        100.0, description="Invocations per instance per minute that scaling aims for."
    )
    scale_in_cooldown_seconds: StrictInt = Field(
        300, ge=0, le=3600, description="Seconds after a scale-in before the next, 0-3600."
    )
    scale_out_cooldown_seconds: StrictInt = Field(
        60, ge=0, le=3600, description="Seconds after a scale-out before the next, 0-3600."
    )

    @model_validator(mode="after")
    def _min_below_max(self) -> Autoscaling:
        if self.min_instances > self.max_instances:
            _fail(
                ("min_instances",),
                f"min_instances {self.min_instances} is above max_instances {self.max_instances}",
                self.min_instances,
            )
        return self


class DataCapture(Strict):
    """Requests and responses sampled into the artifact bucket (KMS) for drift monitoring."""

    enabled: StrictBool = False
    # DataCaptureConfig.InitialSamplingPercentage: 0-100 (AWS::SageMaker::EndpointConfig
    # DataCaptureConfig).
    sampling_percent: StrictInt = Field(
        10, ge=0, le=100, description="Percentage of requests captured, 0-100."
    )
    capture: Items(Literal["input", "output"], min_length=1) = Field(  # type: ignore[valid-type]
        ("input", "output"), description="What is captured: input, output or both."
    )


class Dashboard(Strict):
    """A CloudWatch dashboard per model and environment."""

    enabled: StrictBool = True


def _fail(loc: tuple[str | int, ...], message: str, value: Any) -> NoReturn:
    """Raise a validation error at `loc` (relative to the model being validated)."""
    raise ValidationError.from_exception_data(
        "config",
        [
            InitErrorDetails(
                type=PydanticCustomError("combination", "{message}", {"message": message}),
                loc=loc,
                input=value,
            )
        ],
    )


V = TypeVar("V", bound=VariantSource)
DEFAULT_VARIANT = "primary"
# A variant name must name a role (champion, challenger), not a version: blue/green and rolling
# updates need "the same variant name as the old endpoint configuration" (SageMaker guide,
# Deployment guardrails, Exclusions).
_VERSION_LIKE = re.compile(r"(^|-)v\d+($|-)|(^|-)\d+($|-)|[0-9a-f]{7,}|\d{6,}", re.IGNORECASE)
Problems = list[tuple[tuple[str | int, ...], str, Any]]


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

    def passes(self, value: float) -> bool:
        return value >= self.threshold if self.greater_is_better else value <= self.threshold


# --------------------------------------------------------------------------------------------
# Training: a SageMaker Pipeline that trains, checks `quality` and registers a model package.
# Limits below are CreateTrainingJob's (API_ResourceConfig, API_StoppingCondition, API_Channel).
# --------------------------------------------------------------------------------------------

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
            _fail(
                ("version_id",),
                f"a version pins one object, but {self.s3_uri!r} is a prefix; name the object "
                "(s3://bucket/key) or remove version_id",
                self.version_id,
            )
        return self


HyperparameterValue = StrictStr | StrictInt | StrictBool | Annotated[float, Field(strict=True)]


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
    metrics: Items(Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9_]*$")]) = Field(  # type: ignore[valid-type]
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
            _fail(
                ("distribution",),
                f"{self.instance_count} instances without distribution would each train their "
                "own copy; set distribution: torch_distributed or instance_count: 1",
                self.distribution,
            )
        if self.spot and (
            self.max_wait_seconds is None or self.max_wait_seconds < self.max_runtime_seconds
        ):
            _fail(
                ("max_wait_seconds",),
                f"spot training needs max_wait_seconds of at least max_runtime_seconds "
                f"({self.max_runtime_seconds}); raise it or set spot: false",
                self.max_wait_seconds,
            )
        folder = (info.context or {}).get("model_dir")
        if folder is not None and not (folder / self.entry_point).is_file():
            _fail(
                ("entry_point",),
                f"{self.entry_point!r} does not exist in {folder.name}/; add the training "
                "script or fix the name",
                self.entry_point,
            )
        return self


def _training_problems(spec: ModelSpec) -> Problems:
    """A training section that cannot give a pipeline once every section is merged."""
    training = spec.training
    if training is None or not training.enabled:
        return []
    problems: Problems = []
    if spec.quality is None:
        problems.append(
            (
                ("training",),
                "training registers a model only when it clears the quality bar; add a "
                "quality section (metric, threshold, greater_is_better)",
                None,
            )
        )
    if not training.inputs:
        problems.append(
            (
                ("training", "inputs"),
                "training needs at least one input channel, for example inputs: {train: "
                "{s3_uri: s3://my-bucket/iris/}}",
                {},
            )
        )
    return problems


class ModelSpec(Strict):
    """A model as deployed to one environment, after defaults and overrides are applied."""

    name: Annotated[StrictStr, Field(pattern=NAME_PATTERN)] | None = Field(
        None,
        description="Model name used in stack and endpoint names; defaults to the folder name.",
    )
    description: StrictStr = ""
    framework: Framework = Framework()
    artifact: Artifact
    serving: Serving = Serving()
    rollout: Rollout = Rollout()
    variants: dict[SageMakerName, Variant] = Field(
        default_factory=dict,
        description="Production variants by name (for example champion and challenger), each "
        "with its weight, model version and hosting; unset: one variant 'primary' serving this "
        "model on serving.instance_type x serving.instance_count.",
    )
    shadow_variants: dict[SageMakerName, ShadowVariant] = Field(
        default_factory=dict,
        description="At most one shadow variant that gets a copy of live requests; needs "
        "exactly one production variant.",
    )
    alarms: Alarms = Alarms()
    autoscaling: Autoscaling = Autoscaling()
    data_capture: DataCapture = DataCapture()
    dashboard: Dashboard = Dashboard()
    quality: Quality | None = Field(
        None, description="Held-out metric and threshold a trained model must clear to ship."
    )
    training: Training | None = Field(
        None,
        description="How to train the model in a SageMaker Pipeline that registers it for "
        "approval; unset: no pipeline.",
    )

    # A model file is checked as a whole only once environment defaults have been merged in.
    _check_combinations: ClassVar[bool] = True

    def production_variants(self) -> dict[str, Variant]:
        """Production variants by name, instance type and count filled in from `serving`."""
        variants = self.variants or {DEFAULT_VARIANT: Variant()}
        return {name: self._filled(v) for name, v in variants.items()}

    def shadow(self) -> dict[str, ShadowVariant]:
        return {name: self._filled(v) for name, v in self.shadow_variants.items()}

    def _filled(self, variant: V) -> V:
        if isinstance(variant, Variant) and variant.serverless is not None:
            return variant
        return variant.model_copy(
            update={
                "instance_type": variant.instance_type or self.serving.instance_type,
                "instance_count": variant.instance_count or self.serving.instance_count,
            }
        )

    def rollback_alarm_count(self) -> int:
        rules = self.alarms.rules()
        return sum(
            1
            for variant in self.production_variants().values()
            for name, rule in rules.items()
            if rule.enabled
            and rule.rollback
            and not (variant.serverless is not None and name in INSTANCE_ALARMS)
        )

    @model_validator(mode="after")
    def _combinations(self) -> ModelSpec:
        if self._check_combinations:
            problems = _combination_problems(self)
            if problems:
                raise ValidationError.from_exception_data(
                    "config",
                    [
                        InitErrorDetails(
                            type=PydanticCustomError("combination", "{message}", {"message": m}),
                            loc=loc,
                            input=value,
                        )
                        for loc, m, value in problems
                    ],
                )
        return self


def _combination_problems(spec: ModelSpec) -> Problems:
    """What SageMaker would refuse, or silently not do, for this combination of sections."""
    problems: Problems = _training_problems(spec)
    variants = spec.production_variants()
    shadows = spec.shadow()
    rollout = spec.rollout

    for section, named in (("variants", spec.variants), ("shadow_variants", spec.shadow_variants)):
        for name, variant in named.items():
            if _VERSION_LIKE.search(name) or (variant.model and variant.model in name):
                problems.append(
                    (
                        (section, name),
                        f"variant name {name!r} looks like a model version; SageMaker's "
                        "blue/green and rolling updates need each variant to keep its name "
                        "from one version to the next: name the role (champion, challenger, "
                        "candidate) and put the version in 'model' or 'model_data'",
                        name,
                    )
                )
    for name in sorted(set(spec.variants) & set(spec.shadow_variants)):
        problems.append((("shadow_variants", name), f"{name!r} is also a production variant", name))

    # Weights are relative; at least one variant must take traffic.
    if sum(v.weight for v in variants.values()) <= 0:
        problems.append(
            (
                ("variants",),
                "every production variant has weight 0, so no variant would get traffic; "
                "give at least one a positive weight",
                {n: v.weight for n, v in variants.items()},
            )
        )

    # ShadowProductionVariants: "you can only specify one variant for ProductionVariants and
    # one variant for ShadowProductionVariants" (API_CreateEndpointConfig).
    if shadows and (len(variants) != 1 or len(shadows) > 1):
        problems.append(
            (
                ("shadow_variants",),
                f"a shadow test pairs one production variant with one shadow variant; found "
                f"{len(variants)} production and {len(shadows)} shadow variants",
                sorted(shadows),
            )
        )

    # Serverless Inference feature exclusions (SageMaker guide, Serverless Inference): no
    # multiple production variants, network isolation or data capture; autoscaling there is
    # concurrency, not instances. Deployment guardrails exclusions: no rolling updates; traffic
    # shifting (canary, linear) sizes a fleet of instances that serverless does not have.
    serverless = [n for n, v in variants.items() if v.serverless is not None]
    # ModelDataSource (uncompressed artifacts) is not supported by serverless endpoints, batch
    # transform or multi-model endpoints (API_ContainerDefinition, ModelDataSource). Models here
    # are single-model and batch transform is not configured, so serverless is the one to refuse.
    if serverless and spec.artifact.compression == "none":
        problems.append(
            (
                ("artifact", "compression"),
                f"serverless variant {serverless[0]!r} cannot serve uncompressed artifacts "
                "(SageMaker does not support ModelDataSource on serverless endpoints): remove "
                "artifact.compression (gzip) or host the variant on instances",
                "none",
            )
        )
    for name in serverless:
        variant = spec.variants.get(name, Variant())
        if variant.instance_type is not None or variant.instance_count is not None:
            problems.append(
                (
                    ("variants", name, "serverless"),
                    "a serverless variant has no instance_type or instance_count; remove them",
                    name,
                )
            )
    if serverless:
        if len(variants) > 1 or shadows:
            problems.append(
                (
                    ("variants", serverless[0], "serverless"),
                    "a serverless endpoint serves exactly one production variant and no shadow "
                    "variant; drop the other variants or host this one on instances",
                    sorted(variants),
                )
            )
        if spec.serving.network_isolation:
            problems.append(
                (
                    ("serving", "network_isolation"),
                    "Serverless Inference does not support network isolation; set "
                    "serving.network_isolation to false for this model (and environment)",
                    True,
                )
            )
        if spec.serving.vpc is not None:
            problems.append(
                (
                    ("serving", "vpc"),
                    "Serverless Inference does not support VPC configuration; remove "
                    "serving.vpc for this model (and environment) or host it on instances",
                    "vpc",
                )
            )
        if spec.data_capture.enabled:
            problems.append(
                (
                    ("data_capture", "enabled"),
                    "Serverless Inference does not support data capture; set "
                    "data_capture.enabled to false for this model (and environment)",
                    True,
                )
            )
        if spec.autoscaling.enabled:
            problems.append(
                (
                    ("autoscaling", "enabled"),
                    "instance autoscaling does not apply to a serverless variant (it scales by "
                    "concurrency); set autoscaling.enabled to false",
                    True,
                )
            )
        if rollout.strategy != "all_at_once":
            problems.append(
                (
                    ("rollout", "strategy"),
                    f"{rollout.strategy} deployment guardrails need instances; a serverless "
                    "endpoint updates all at once: set rollout.strategy to all_at_once",
                    rollout.strategy,
                )
            )

    # Deployment guardrails exclusions: rolling updates support neither multi-variant nor
    # serverless endpoints.
    if rollout.strategy == "rolling" and len(variants) > 1:
        problems.append(
            (
                ("rollout", "strategy"),
                f"rolling updates do not support endpoints with several production variants "
                f"({', '.join(sorted(variants))}); use canary, linear or all_at_once",
                rollout.strategy,
            )
        )

    counts = [v.instance_count for v in variants.values() if v.instance_count is not None]
    if counts:
        problems.extend(_capacity_problems(rollout, min(counts), max(counts)))

    if rollout.max_execution_seconds is not None:
        waiting = _planned_wait(rollout, min(counts) if counts else 1)
        if rollout.max_execution_seconds <= waiting:
            problems.append(
                (
                    ("rollout", "max_execution_seconds"),
                    f"{rollout.max_execution_seconds} s does not exceed the {waiting} s the "
                    f"{rollout.strategy} rollout spends baking and waiting; raise it (at most "
                    "28800) or shorten the bake times",
                    rollout.max_execution_seconds,
                )
            )

    rollback = spec.rollback_alarm_count()
    if rollback > MAX_ROLLBACK_ALARMS:
        problems.append(
            (
                ("alarms",),
                f"{rollback} rollback alarms ({len(variants)} production variants x the alarms "
                f"with rollback: true); SageMaker takes at most {MAX_ROLLBACK_ALARMS}: set "
                "rollback: false on some alarms or serve fewer variants",
                rollback,
            )
        )

    if spec.autoscaling.enabled:
        scaling = spec.autoscaling
        for name, variant in variants.items():
            count = variant.instance_count
            if count is not None and not scaling.min_instances <= count <= scaling.max_instances:
                problems.append(
                    (
                        ("autoscaling",),
                        f"variant {name!r} starts with {count} instances, outside autoscaling's "
                        f"{scaling.min_instances}-{scaling.max_instances}; adjust min_instances "
                        "/ max_instances or the instance count",
                        count,
                    )
                )
    return problems


def _capacity_problems(rollout: Rollout, smallest: int, largest: int) -> Problems:
    """Instance-count sizes against the variants' instance counts (percentages are ranged)."""
    problems: Problems = []
    strategy = rollout.strategy
    if strategy == "canary" and isinstance(rollout.canary.size, int):
        size = rollout.canary.size
        if 2 * size > smallest:
            problems.append(
                (
                    ("rollout", "canary", "size"),
                    f"a canary of {size} instance(s) is more than 50% of a variant with "
                    f"{smallest} instance(s); use at most {smallest // 2} or a percentage",
                    size,
                )
            )
    if strategy == "linear" and isinstance(rollout.linear.step, int):
        step = rollout.linear.step
        if not (10 * step >= largest and 2 * step <= smallest):
            problems.append(
                (
                    ("rollout", "linear", "step"),
                    f"a linear step of {step} instance(s) must be 10-50% of every variant's "
                    f"instances ({smallest}-{largest}); use a percentage or another count",
                    step,
                )
            )
    if strategy == "rolling":
        batch = rollout.rolling.batch
        if isinstance(batch, int) and not (20 * batch >= largest and 2 * batch <= smallest):
            problems.append(
                (
                    ("rollout", "rolling", "batch"),
                    f"a rolling batch of {batch} instance(s) must be 5-50% of the variant's "
                    f"{smallest} instance(s); use a percentage or another count",
                    batch,
                )
            )
        back = rollout.rolling.rollback_batch
        if isinstance(back, int) and back > smallest:
            problems.append(
                (
                    ("rollout", "rolling", "rollback_batch"),
                    f"a rollback batch of {back} instance(s) is more than the variant's "
                    f"{smallest}; use at most {smallest} or a percentage",
                    back,
                )
            )
    return problems


def _planned_wait(rollout: Rollout, instances: int) -> int:
    """Seconds a rollout spends baking and waiting, by SageMaker's description of each type."""

    def steps(size: str | int) -> int:
        percent = percent_of(size)
        if percent is not None:
            return -(-100 // percent)
        return -(-instances // int(size))

    if rollout.strategy == "rolling":
        return steps(rollout.rolling.batch) * rollout.rolling.bake_seconds
    if rollout.strategy == "canary":
        # The canary bakes, then the whole new fleet bakes before the old one is let go.
        bake = 2 * rollout.canary.bake_seconds
    elif rollout.strategy == "linear":
        bake = steps(rollout.linear.step) * rollout.linear.bake_seconds
    else:
        bake = rollout.all_at_once.bake_seconds
    return bake + rollout.termination_wait_seconds


# Sections that define the bundle are the same in every environment: what gets deployed to
# production is what was tried in staging.
BUNDLE_FIELDS = frozenset({"name", "description", "framework", "artifact", "quality"})

Overrides: type[Strict] = create_model(  # type: ignore[call-overload]
    "Overrides",
    __base__=Strict,
    __doc__="Per-environment values; any section left out keeps the model's own value.",
    **{
        name: (field.annotation | None, None)  # type: ignore[operator]
        for name, field in ModelSpec.model_fields.items()
        if name not in BUNDLE_FIELDS
    },
)


class ModelFile(ModelSpec):
    """`models/<name>/config.yaml`: the model plus per-environment overrides."""

    _check_combinations: ClassVar[bool] = False

    environments: dict[StrictStr, Overrides] = Field(
        default_factory=dict,
        description="Overrides keyed by environment name (the stem of a file in configs/).",
    )

    @field_validator("environments", mode="after")
    @classmethod
    def _known_environments(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        known = (info.context or {}).get("environments")
        if known is not None:
            unknown = sorted(set(value) - set(known))
            if unknown:
                raise ValueError(
                    f"{unknown} are not environments; use one of {sorted(known)} "
                    "(the files in configs/)"
                )
        return value


# --------------------------------------------------------------------------------------------
# Environment: where and how every model is deployed.
# --------------------------------------------------------------------------------------------


class Paging(Strict):
    """Who is paged by the environment's alarms (SNS subscriptions)."""

    emails: Items(  # type: ignore[valid-type]
        Annotated[StrictStr, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    ) = Field((), description="E-mail addresses subscribed to the paging topic.")
    https: Items(  # type: ignore[valid-type]
        Annotated[StrictStr, Field(pattern=r"^https://[^\s]+$")]
    ) = Field(
        (),
        description="HTTPS endpoints (PagerDuty- or Opsgenie-style integrations) subscribed "
        "to the paging topic.",
    )


LogRetentionDays = Literal[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
]  # fmt: skip


class Environment(Strict):
    """`configs/<env>.yaml`: one deployment stage, for example staging or prod."""

    prefix: StrictStr = Field(
        description="Stack-name prefix: stacks are named '<prefix>-<model>'.",
        pattern=r"^[A-Z][A-Za-z0-9]{0,31}$",
    )
    account: StrictStr = Field(
        description="AWS account id as a quoted string of 12 digits, for example "
        "'123456789012' (unquoted, YAML reads it as a number and drops leading zeros).",
        pattern=r"^[0-9]{12}$",
    )
    region: StrictStr = Field(
        description="AWS region, for example 'eu-west-1'.",
        pattern=r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$",
    )
    tags: dict[
        Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=r"^[\w .:/=+\-@]+$")],
        Annotated[StrictStr, Field(max_length=256, pattern=r"^[\w .:/=+\-@]*$")],
    ] = Field(default_factory=dict, description="Tags applied to every resource.")
    paging: Paging = Paging()
    termination_protection: StrictBool = Field(
        False, description="Turn on CloudFormation termination protection for every stack."
    )
    log_retention_days: LogRetentionDays = Field(
        30, description="Retention of the endpoint's CloudWatch log group, in days."
    )
    defaults: Overrides = Field(
        default_factory=Overrides,
        description="Values every model gets in this environment unless its config says otherwise.",
    )

    @field_validator("tags", mode="after")
    @classmethod
    def _no_aws_tags(cls, value: dict[str, str]) -> dict[str, str]:
        reserved = sorted(k for k in value if k.lower().startswith("aws:"))
        if reserved:
            raise ValueError(f"tag keys {reserved} use the reserved 'aws:' prefix")
        return value
