"""From the sagemaker SDK's typed shapes and workflow expressions to a pipeline's JSON.

The SDK serializes its request shapes (pydantic models) but not the expressions placed inside
them (parameters, step properties, Join), and it spells a few member names differently from the
API. These helpers bridge both, for `stacks.pipeline_definition`.
"""

from __future__ import annotations

import importlib
from typing import Any

# Member names the SDK's serializer spells differently from the API (it capitalises words).
_API_NAMES = {"SupportedResponseMimeTypes": "SupportedResponseMIMETypes"}


def sdk_shapes() -> Any:
    """The API's request shapes (the package's namespace mixes in model-card shapes of the
    same names)."""
    return importlib.import_module("sagemaker.core.shapes.shapes")


class Expressions:
    """Pipeline expressions stand in the typed shapes as unique strings, swapped back after
    the SDK serialized them (its serializer passes strings through unchanged)."""

    def __init__(self) -> None:
        self._by_token: dict[str, Any] = {}

    def ref(self, expr: Any) -> str:
        token = f"\x00expr{len(self._by_token)}\x00"
        self._by_token[token] = expr
        return token

    def expand(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._by_token.get(value, value)
        if isinstance(value, list):
            return [self.expand(v) for v in value]
        if isinstance(value, dict):
            return {k: self.expand(v) for k, v in value.items()}
        return value


def api_names(value: Any) -> Any:
    """Member names as the API spells them, at any depth."""
    if isinstance(value, list):
        return [api_names(v) for v in value]
    if isinstance(value, dict):
        return {_API_NAMES.get(k, k): api_names(v) for k, v in value.items()}
    return value


def pascal_keys(request: dict[str, Any]) -> dict[str, Any]:
    """Top-level snake_case request keys to the API's PascalCase (nested shapes already are)."""
    special = {"hyper_parameters": "HyperParameters"}
    return {
        special.get(k, "".join(part.capitalize() for part in k.split("_"))): v
        for k, v in request.items()
    }


def number(value: float) -> str:
    """A threshold as people write it: 0.9, not 0.90000."""
    return format(value, "g")
