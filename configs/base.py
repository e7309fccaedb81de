"""What every config module shares: the strict base model, name patterns, list and path types,
and the one way a validator reports a problem at a field path.

Every model is frozen and forbids unknown keys, so a typo in YAML is an error and never a silent
default. Scalars are strict (a quoted "2" is not an instance count); lists become tuples. Field
descriptions double as the "fix" line of error messages and as hover text in editors through the
generated JSON Schemas in `configs/schema/`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Annotated, Any, NamedTuple, NoReturn, TypeAlias, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError
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


T = TypeVar("T")
# A YAML list, held as a tuple so the models stay hashable and frozen; length limits go on the
# field, for example `weights: Items[RelPath] = Field(min_length=1)`.
Items: TypeAlias = Annotated[tuple[T, ...], Field(strict=False)]

RelPath = Annotated[StrictStr, Field(min_length=1)]


def relative_path(value: str) -> str:
    """`value` as a path inside the model folder; a ValueError names the value otherwise."""
    path = PurePosixPath(value)
    if value.strip() == "" or path.is_absolute() or ".." in path.parts or "\\" in value:
        raise ValueError(f"{value!r} must be a relative path inside the model folder, without '..'")
    return str(path)


def percent_of(value: str | int) -> int | None:
    """`"10%"` -> 10; an instance count -> None."""
    return int(value[:-1]) if isinstance(value, str) else None


# --------------------------------------------------------------------------------------------
# Problems found by validators that look at several fields at once.
# --------------------------------------------------------------------------------------------

Loc = tuple[str | int, ...]


class Finding(NamedTuple):
    """One problem at a field path (relative to the model being validated), with the value."""

    loc: Loc
    message: str
    value: Any


def raise_findings(findings: Iterable[Finding]) -> NoReturn:
    """Raise one validation error listing every finding, each at its own field path.

    The loader renders these like pydantic's own errors: file, line, path, message, value.
    """
    raise ValidationError.from_exception_data(
        "config",
        [
            InitErrorDetails(
                type=PydanticCustomError("combination", "{message}", {"message": message}),
                loc=loc,
                input=value,
            )
            for loc, message, value in findings
        ],
    )


def fail(loc: Loc, message: str, *, value: Any) -> NoReturn:
    """Raise a validation error at `loc` (relative to the model being validated)."""
    raise_findings([Finding(loc, message, value)])
