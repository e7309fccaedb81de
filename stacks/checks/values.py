"""Reading resolved CloudFormation values, as a synthesized template holds them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def listed(value: Any) -> list[Any]:
    """A property that may be one value or a list of them, as a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.lower() == "false")


def refers_to(value: Any, logical_id: str) -> bool:
    """`{"Ref": id}` or `{"Fn::GetAtt": [id, ...]}`."""
    if isinstance(value, Mapping):
        if value.get("Ref") == logical_id:
            return True
        get_att = value.get("Fn::GetAtt")
        return isinstance(get_att, list) and bool(get_att) and get_att[0] == logical_id
    return False


def statements(document: Any) -> list[dict[str, Any]]:
    """The statements of a policy document (malformed entries skipped)."""
    if not isinstance(document, Mapping):
        return []
    return [dict(s) for s in listed(document.get("Statement")) if isinstance(s, Mapping)]
