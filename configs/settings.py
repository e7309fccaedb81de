"""Typed configuration: what `configs/<env>.yaml` and `models/<name>/config.yaml` may say.

Every model is frozen and forbids unknown keys, so a typo in YAML is an error and never a silent
default. Scalars are strict (a quoted "2" is not an instance count); lists become tuples. Field
descriptions double as the "fix" line of error messages and as hover text in editors through the
generated JSON Schemas in `configs/schema/`.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

STRICT = ConfigDict(extra="forbid", frozen=True, strict=True)

# Model and environment names end up in stack names ([A-Za-z][A-Za-z0-9-]*, 128 chars) and in
# SageMaker endpoint names (^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$): only their intersection is allowed.
NAME_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
ENDPOINT_NAME_MAX = 63
# Shared library folders are imported as Python packages.
PACKAGE_PATTERN = r"^[a-z_][a-z0-9_]*$"


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
        pattern=r"^\d+\.\d+(\.\d+)?$",
    )
    python_version: StrictStr = Field(
        "py312",
        description="Python version tag of the inference image (for example 'py312').",
        pattern=r"^py3\d+$",
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

    @field_validator("environment", mode="after")
    @classmethod
    def _no_reserved_variables(cls, value: dict[str, str]) -> dict[str, str]:
        reserved = sorted(k for k in value if k.startswith("SAGEMAKER_"))
        if reserved:
            raise ValueError(f"{reserved} are set by the stack; remove them from the config")
        return value


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


# Sections that define the bundle are the same in every environment: what gets deployed to
# production is what was tried in staging.
BUNDLE_FIELDS = frozenset({"name", "description", "framework", "artifact"})

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
        pattern=r"^\d{12}$",
    )
    region: StrictStr = Field(
        description="AWS region, for example 'eu-west-1'.",
        pattern=r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$",
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
