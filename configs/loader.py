"""Loads every config file once, at the edge, into frozen typed objects.

`load_project(root)` reads `configs/*.yaml` and `models/*/config.yaml`, checks each file and the
relations between them (override keys name real environments, names are unique and fit in stack
and endpoint names), and returns a `Project`. Everything wrong is collected into one
`ConfigError` whose message names the file, line, field path, bad value and the fix.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from configs.settings import (
    ENDPOINT_NAME_MAX,
    NAME_PATTERN,
    Environment,
    ModelFile,
    ModelSpec,
)

MODEL_CONFIG = "config.yaml"
M = TypeVar("M", bound=BaseModel)


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


@dataclass(frozen=True)
class ModelSource:
    """A model folder and its validated config file."""

    name: str
    folder: Path
    file: ModelFile


@dataclass(frozen=True)
class Deployment:
    """One model in one environment: what a `<Prefix>-<model>` stack is built from."""

    environment_name: str
    environment: Environment
    source: ModelSource
    spec: ModelSpec

    @property
    def model_name(self) -> str:
        return self.source.name

    @property
    def stack_name(self) -> str:
        return f"{self.environment.prefix}-{self.model_name}"

    @property
    def endpoint_name(self) -> str:
        """Explicit, so alarms can name the endpoint without a reference cycle."""
        return f"{self.environment_name}-{self.model_name}"


@dataclass(frozen=True)
class Project:
    root: Path
    environments: Mapping[str, Environment]
    models: Mapping[str, ModelSource]
    shared_folders: tuple[Path, ...] = field(default=())
    # Specs resolved while loading, by (environment, model): resolved once, not per call.
    resolved: Mapping[tuple[str, str], ModelSpec] = field(default_factory=dict)

    def deployments(self) -> list[Deployment]:
        """Every environment x model, environments in file order, models by name."""
        return [
            Deployment(
                env_name,
                env,
                source,
                self.resolved.get((env_name, source.name)) or resolve(env, env_name, source),
            )
            for env_name, env in self.environments.items()
            for source in self.models.values()
        ]


# --------------------------------------------------------------------------------------------


def load_project(root: Path) -> Project:
    """Load and check every config under `root`; raise one ConfigError listing all problems."""
    problems: list[Problem] = []
    env_files = sorted((root / "configs").glob("*.yaml"))
    if not env_files:
        raise ConfigError(
            [Problem(root / "configs", "", "no environment files", "add configs/staging.yaml")]
        )
    environments: dict[str, Environment] = {}
    for path in env_files:
        env = _load(path, Environment, problems)
        name = path.stem
        if not _is_name(name):
            problems.append(
                Problem(
                    path,
                    "",
                    f"environment name {name!r} (the file name) is not allowed",
                    "rename the file to lowercase letters, digits and hyphens",
                )
            )
        elif env is not None:
            environments[name] = env

    models: dict[str, ModelSource] = {}
    seen: dict[str, Path] = {}
    context = {"environments": tuple(environments)}
    longest_env = max((len(n) for n in environments), default=0)
    for folder in sorted(p for p in (root / "models").iterdir() if p.is_dir()):
        path = folder / MODEL_CONFIG
        if not path.is_file():
            continue  # a folder without config.yaml is shared library code
        file = _load(path, ModelFile, problems, {**context, "model_dir": folder})
        if file is None:
            continue
        name = file.name or folder.name
        limit = ENDPOINT_NAME_MAX - longest_env - 1
        if not _is_name(name):
            problems.append(
                Problem(
                    path,
                    "name" if file.name else "",
                    f"model name {name!r} cannot be used in stack and endpoint names",
                    "use lowercase letters, digits and single hyphens, starting with a letter "
                    f"(for example {_suggest_name(name)!r}); rename the folder or set 'name'",
                )
            )
        elif len(name) > limit:
            problems.append(
                Problem(
                    path,
                    "name" if file.name else "",
                    f"model name {name!r} is {len(name)} characters; endpoint names "
                    f"'<environment>-<model>' must fit in {ENDPOINT_NAME_MAX}",
                    f"use at most {limit} characters",
                )
            )
        elif name in seen:
            problems.append(
                Problem(
                    path,
                    "name",
                    f"model name {name!r} is also used by {seen[name]}",
                    "give each model a unique name (folder name or 'name' field)",
                )
            )
        else:
            seen[name] = path
            models[name] = ModelSource(name, folder, file)

    # Resolving catches combinations that only fail once defaults and overrides meet.
    resolved: dict[tuple[str, str], ModelSpec] = {}
    if not problems:
        for env_name, env in environments.items():
            for source in models.values():
                try:
                    resolved[env_name, source.name] = resolve(env, env_name, source)
                except ValidationError as error:
                    problems.extend(
                        _problems(
                            source.folder / MODEL_CONFIG,
                            error.errors(),
                            None,
                            prefix=f"environments.{env_name}",
                        )
                    )
    if problems:
        raise ConfigError(problems, root)
    shared = tuple(
        sorted(
            p
            for p in (root / "models").iterdir()
            if p.is_dir()
            and p.name not in {m.folder.name for m in models.values()}
            and not p.name.startswith((".", "_"))
        )
    )
    return Project(root, environments, models, shared, resolved)


def resolve(env: Environment, env_name: str, source: ModelSource) -> ModelSpec:
    """Model defaults < environment defaults < the model's file < its override for `env_name`."""
    merged: dict[str, Any] = {}
    _merge(merged, _set_fields(env.defaults))
    _merge(merged, {k: v for k, v in _set_fields(source.file).items() if k != "environments"})
    override = source.file.environments.get(env_name)
    if override is not None:
        _merge(merged, _set_fields(override))
    return ModelSpec.model_validate(merged, strict=False)


def _set_fields(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(exclude_unset=True)


def _merge(into: dict[str, Any], update: Mapping[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _is_name(name: str) -> bool:
    return re.fullmatch(NAME_PATTERN, name) is not None


def _suggest_name(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return cleaned if cleaned and cleaned[0].isalpha() else f"m-{cleaned}".rstrip("-")


# --------------------------------------------------------------------------------------------
# YAML with line numbers, and pydantic errors turned into problems with a fix.
# --------------------------------------------------------------------------------------------


def _load(
    path: Path, model: type[M], problems: list[Problem], context: dict[str, Any] | None = None
) -> M | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        problems.append(Problem(path, "", f"cannot be read: {error}", "save it as UTF-8 text"))
        return None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(error, "problem", None) or str(error).splitlines()[0]
        problems.append(
            Problem(
                path, "", f"is not valid YAML: {reason}", "fix the YAML syntax at that line", line
            )
        )
        return None
    duplicates = list(_duplicate_keys(node))
    if duplicates:
        problems.extend(
            Problem(
                path,
                where,
                "duplicate key; YAML would silently keep only the last value",
                "remove one of the two (or merge them)",
                line,
            )
            for where, line in duplicates
        )
        return None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(
            Problem(
                path,
                "",
                f"must be a mapping of keys to values, got {_kind(data)}",
                "write 'key: value' lines at the top level",
            )
        )
        return None
    try:
        return model.model_validate(data, context=context)
    except ValidationError as error:
        problems.extend(_problems(path, error.errors(), node, model=model))
        return None


def _duplicate_keys(node: yaml.Node | None, where: str = "") -> Iterable[tuple[str, int]]:
    """(dotted path, line) of every key given twice in the same mapping."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            here = f"{where}.{name}" if where else name
            if name in seen:
                yield here, key.start_mark.line + 1
            seen.add(name)
            yield from _duplicate_keys(value, here)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, f"{where}[{index}]")


def _problems(
    path: Path,
    errors: Iterable[ErrorDetails],
    node: yaml.Node | None,
    *,
    model: type[BaseModel] | None = None,
    prefix: str = "",
) -> list[Problem]:
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
        allowed = _allowed_keys(model, loc[:-1])
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


def _description(model: type[BaseModel] | None, loc: list[Any]) -> str:
    info = _field_at(model, loc)
    return (info.description or "") if info is not None else ""


def _allowed_keys(model: type[BaseModel] | None, loc: list[Any]) -> list[str]:
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


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_of(arg)
        if found is not None:
            return found
    return None


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


def _kind(value: object) -> str:
    return type(value).__name__


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
