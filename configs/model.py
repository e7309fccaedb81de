"""A model's config file and the checked model a stack is built from.

`models/<name>/config.yaml` is a `ModelFile`: the model's sections plus per-environment
`Overrides`. The loader merges environment defaults, the file and its override into a
`ModelSpec`, which runs every cross-field rule of `configs.rules` on the merged result.
"""

from __future__ import annotations

from typing import Any

from pydantic import (
    Field,
    StrictStr,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from configs.base import Strict, raise_findings
from configs.rules import findings
from configs.sections import ModelSections

# Sections that define the bundle are the same in every environment: what gets deployed to
# production is what was tried in staging.
BUNDLE_FIELDS = frozenset(
    {"name", "description", "framework", "artifact", "quality", "evaluation", "smoke"}
)

Overrides: type[Strict] = create_model(  # type: ignore[call-overload]
    "Overrides",
    __base__=Strict,
    __doc__="Per-environment values; any section left out keeps the model's own value.",
    **{
        name: (field.annotation | None, None)  # type: ignore[operator]
        for name, field in ModelSections.model_fields.items()
        if name not in BUNDLE_FIELDS
    },
)


class ModelSpec(ModelSections):
    """A model as deployed to one environment, after defaults and overrides are applied."""

    @model_validator(mode="after")
    def _rules(self) -> ModelSpec:
        found = findings(self)
        if found:
            raise_findings(found)
        return self


class ModelFile(ModelSections):
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
