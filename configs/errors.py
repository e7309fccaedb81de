"""Config problems as people read them: file, line, field path, what was wrong and the fix.

`Problem` is one thing wrong in one file; `ConfigError` carries every problem found, so one run
reports them all. `problems_from` turns pydantic's validation errors into problems: the line
comes from the YAML node, the fix from the field's description, and an unknown key gets the
allowed keys and a "did you mean" suggestion.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic_core import ErrorDetails


@dataclass(frozen=True)
class Problem:
    """One thing wrong in one file."""

    file: Path
    where: str  # dotted field path, or "" for the whole file
    message: str
    fix: str = ""
    line: int | None = None

    def render(self, root: Path | None = None) -> str:
        try:
            shown = self.file.relative_to(root) if root else self.file
        except ValueError:
            shown = self.file
        place = f"{shown}:{self.line}" if self.line else str(shown)
        head = (
            f"{place}: {self.where}: {self.message}" if self.where else f"{place}: {self.message}"
        )
        return f"{head}\n    fix: {self.fix}" if self.fix else head


class ConfigError(Exception):
    """Raised with every problem found; `str()` is the readable report."""

    def __init__(self, problems: Sequence[Problem], root: Path | None = None) -> None:
        self.problems = tuple(problems)
        self.root = root
        lines = [p.render(root) for p in self.problems]
        count = len(lines)
        heading = f"configuration error{'s' if count > 1 else ''} ({count}):"
        super().__init__("\n".join([heading, *(f"  {line}" for line in lines)]))


# --------------------------------------------------------------------------------------------
# Where a field is: its model, its description, the keys allowed beside it, its YAML line.
# --------------------------------------------------------------------------------------------


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def allowed_keys(model: type[BaseModel] | None, loc: Sequence[Any]) -> list[str]:
    """The keys a config may give at `loc` (a path of field names) in `model`, sorted."""
    target = model
    for part in loc:
        if target is None or not isinstance(part, str):
            return []
        info = target.model_fields.get(part)
        target = _model_of(info.annotation) if info is not None else None
    return sorted(target.model_fields) if target is not None else []


def _field_at(model: type[BaseModel] | None, loc: list[Any]) -> Any:
    target, info = model, None
    for part in loc:
        if target is None or not isinstance(part, str):
            return info
        info = target.model_fields.get(part)
        if info is None:
            return None
        target = _model_of(info.annotation)
    return info


def _description(model: type[BaseModel] | None, loc: list[Any]) -> str:
    info = _field_at(model, loc)
    return (info.description or "") if info is not None else ""


def _line(node: yaml.Node | None, loc: list[Any]) -> int | None:
    """The 1-based line of the deepest YAML node on `loc` that exists."""
    if node is None:
        return None
    line: int = node.start_mark.line + 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    child, line = value, key.start_mark.line + 1
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


# --------------------------------------------------------------------------------------------
# Pydantic errors as problems with a message and a fix.
# --------------------------------------------------------------------------------------------


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "is required"
    msg = error["msg"].removeprefix("Value error, ")
    return f"{msg} (got {_show(value)})"


def _fix(error: ErrorDetails, loc: list[Any], model: type[BaseModel] | None) -> str:
    kind = error["type"]
    described = _description(model, loc)
    if kind == "extra_forbidden":
        allowed = allowed_keys(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return (
            f"{hint}remove it; allowed keys here: {', '.join(allowed)}"
            if allowed
            else ("remove it")
        )
    if kind == "missing":
        return f"add it: {described}" if described else "add it"
    return described


def problems_from(
    path: Path,
    errors: Iterable[ErrorDetails],
    node: yaml.Node | None,
    *,
    model: type[BaseModel] | None = None,
    prefix: str = "",
) -> list[Problem]:
    """One problem per validation error of `path`, placed by `node` (the file's YAML tree).

    Args:
        model: the model the file was validated as, for descriptions and allowed keys.
        prefix: put before every field path (for example the environment being resolved).
    """
    found = []
    for error in errors:
        loc = [part for part in error["loc"] if part != "__root__"]
        where = ".".join(str(part) for part in loc)
        if prefix:
            where = f"{prefix} -> {where}" if where else prefix
        found.append(
            Problem(path, where, _message(error), _fix(error, loc, model), _line(node, loc))
        )
    return found
