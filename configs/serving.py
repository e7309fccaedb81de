"""How the endpoint is hosted: instances or serverless, its variants, autoscaling, data capture
and dashboard.

Ranges below are SageMaker's and CloudFormation's own limits, cited next to each; combinations
that only fail once several sections meet are rules in `configs.rules`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Literal, NamedTuple

from pydantic import (
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from configs.artifact import ModelData
from configs.base import NAME_PATTERN, Items, Strict, fail

InstanceType = Annotated[
    StrictStr,
    Field(
        pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$",
        description="SageMaker hosting instance type, for example 'ml.m5.large'.",
    ),
]

SubnetId = Annotated[StrictStr, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]
SecurityGroupId = Annotated[StrictStr, Field(pattern=r"^sg-[0-9a-f]{8,17}$")]


class Vpc(Strict):
    """Subnets and security groups the model's containers attach to (Model.VpcConfig)."""

    # AWS::SageMaker::Model VpcConfig: Subnets 1-16 items, SecurityGroupIds 1-5 items.
    subnet_ids: Items[SubnetId] = Field(
        min_length=1,
        max_length=16,
        description="Subnet ids, for example ['subnet-0123456789abcdef0']; use subnets in at "
        "least two Availability Zones for more than one instance (1-16).",
    )
    security_group_ids: Items[SecurityGroupId] = Field(
        min_length=1,
        max_length=5,
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
        "code/requirements.txt at start-up, which needs the network: synth fails while it lists "
        "packages that code/ does not vendor; vendor them into the bundle, or set this to false.",
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
# Variants: production variants share live traffic by weight; a shadow variant gets a copy.
# --------------------------------------------------------------------------------------------

SageMakerName = Annotated[
    StrictStr, Field(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", max_length=63)
]
# The one production variant of a model whose config names none.
DEFAULT_VARIANT = "primary"


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
            fail(
                ("provisioned_concurrency",),
                f"provisioned concurrency {self.provisioned_concurrency} is above "
                f"max_concurrency {self.max_concurrency}; lower it or raise max_concurrency",
                value=self.provisioned_concurrency,
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
            fail(
                ("model_data",),
                "give either 'model' (a model folder) or 'model_data' (an S3 archive), not both",
                value=self.model,
            )
        folder = (info.context or {}).get("model_dir")
        if folder is not None and self.model is not None:
            other = folder.parent / self.model
            if not (other / "config.yaml").is_file():
                fail(
                    ("model",),
                    f"models/{self.model}/ is not a model folder (it needs a config.yaml); "
                    "name a model under models/ or use model_data",
                    value=self.model,
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


# --------------------------------------------------------------------------------------------
# Around the endpoint: autoscaling, data capture, dashboard.
# --------------------------------------------------------------------------------------------


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
            fail(
                ("min_instances",),
                f"min_instances {self.min_instances} is above max_instances {self.max_instances}",
                value=self.min_instances,
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
    capture: Items[Literal["input", "output"]] = Field(
        ("input", "output"),
        min_length=1,
        description="What is captured: input, output or both.",
    )


# Data capture records a payload as text (encoding CSV or JSON) only when its content type is
# declared in CaptureContentTypeHeader; "If no headers are specified SageMaker will by default
# base64 encode when capturing the data" (API_CaptureContentTypeHeader). These media types are
# text; JSON Lines is JSON one document per line. Others (NumPy .npy, images) stay BASE64.
CSV_MEDIA_TYPES = frozenset({"text/csv"})
JSON_MEDIA_TYPES = frozenset(
    {"application/json", "application/jsonlines", "application/x-jsonlines"}
)
# Declared for every model, as the SageMaker Python SDK's DataCaptureConfig does by default
# (csv_content_types ["text/csv"], json_content_types ["application/json"]): a client may send
# either without the model's config naming it.
DEFAULT_CAPTURE_TYPES = ("text/csv", "application/json")


class CaptureTypes(NamedTuple):
    """The content types data capture records as text: CsvContentTypes, JsonContentTypes."""

    csv: tuple[str, ...]
    json: tuple[str, ...]


def capture_types(content_types: Iterable[str]) -> CaptureTypes:
    """The CSV and JSON media types among `content_types` and the defaults, sorted; parameters
    (`; charset=utf-8`) dropped, as SageMaker's header lists take bare media types."""
    media = {t.split(";", 1)[0].strip().lower() for t in (*DEFAULT_CAPTURE_TYPES, *content_types)}
    return CaptureTypes(
        csv=tuple(sorted(media & CSV_MEDIA_TYPES)), json=tuple(sorted(media & JSON_MEDIA_TYPES))
    )


class Dashboard(Strict):
    """A CloudWatch dashboard per model and environment."""

    enabled: StrictBool = True
