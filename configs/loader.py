"""Loads every config file once, at the edge, into frozen typed objects.

`load_project(root)` reads `configs/*.yaml` and `models/*/config.yaml`, checks each file and the
relations between them (override keys name real environments, names are unique and fit in stack
and endpoint names), and returns a `Project`. Everything wrong is collected into one
`ConfigError` whose message names the file, line, field path, bad value and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from configs.base import ENDPOINT_NAME_MAX, NAME_PATTERN
from configs.environment import Environment
from configs.errors import ConfigError, Problem, problems_from
from configs.model import ModelFile, ModelSpec

MODEL_CONFIG = "config.yaml"
M = TypeVar("M", bound=BaseModel)


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
    # The accounts of the other environments, where this one's registered versions may be
    # promoted to: its model package group and artifacts are readable from them.
    other_accounts: tuple[str, ...] = ()

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


def _set_fields(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(exclude_unset=True)


def _merge(into: dict[str, Any], update: Mapping[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def resolve(env: Environment, env_name: str, source: ModelSource) -> ModelSpec:
    """Model defaults < environment defaults < the model's file < its override for `env_name`."""
    merged: dict[str, Any] = {}
    _merge(merged, _set_fields(env.defaults))
    _merge(merged, {k: v for k, v in _set_fields(source.file).items() if k != "environments"})
    override = source.file.environments.get(env_name)
    if override is not None:
        _merge(merged, _set_fields(override))
    return ModelSpec.model_validate(merged, strict=False)


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
        accounts = {env.account for env in self.environments.values()}
        return [
            Deployment(
                env_name,
                env,
                source,
                self.resolved.get((env_name, source.name)) or resolve(env, env_name, source),
                tuple(sorted(accounts - {env.account})),
            )
            for env_name, env in self.environments.items()
            for source in self.models.values()
        ]


# --------------------------------------------------------------------------------------------
# One YAML file: read, parsed with line numbers, checked for duplicate keys, validated.
# --------------------------------------------------------------------------------------------


def _kind(value: object) -> str:
    return type(value).__name__


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


# libyaml's parser where PyYAML was built with it (its wheels are), the pure-Python one otherwise.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse(text: str) -> tuple[yaml.Node | None, Any]:
    """The document's node tree (line numbers, duplicate keys) and its data, from one parse."""
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        return node, None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()


def _load(
    path: Path, model: type[M], problems: list[Problem], context: dict[str, Any] | None = None
) -> M | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        problems.append(Problem(path, "", f"cannot be read: {error}", "save it as UTF-8 text"))
        return None
    try:
        node, data = _parse(text)
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
        problems.extend(problems_from(path, error.errors(), node, model=model))
        return None


# --------------------------------------------------------------------------------------------
# The whole project: every environment file and model folder, then every combination resolved.
# --------------------------------------------------------------------------------------------


def _is_name(name: str) -> bool:
    return re.fullmatch(NAME_PATTERN, name) is not None


def _suggest_name(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return cleaned if cleaned and cleaned[0].isalpha() else f"m-{cleaned}".rstrip("-")


def _load_environments(root: Path, problems: list[Problem]) -> dict[str, Environment]:
    """Every `configs/<env>.yaml`, by environment name (the file name)."""
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
    return environments


def _name_problem(
    path: Path, file: ModelFile, name: str, limit: int, seen: dict[str, Path]
) -> Problem | None:
    """Why a model's name cannot be used (pattern, length, taken), or None."""
    field = "name" if file.name else ""
    if not _is_name(name):
        return Problem(
            path,
            field,
            f"model name {name!r} cannot be used in stack and endpoint names",
            "use lowercase letters, digits and single hyphens, starting with a letter "
            f"(for example {_suggest_name(name)!r}); rename the folder or set 'name'",
        )
    if len(name) > limit:
        return Problem(
            path,
            field,
            f"model name {name!r} is {len(name)} characters; endpoint names "
            f"'<environment>-<model>' must fit in {ENDPOINT_NAME_MAX}",
            f"use at most {limit} characters",
        )
    if name in seen:
        return Problem(
            path,
            "name",
            f"model name {name!r} is also used by {seen[name]}",
            "give each model a unique name (folder name or 'name' field)",
        )
    return None


def _load_models(
    root: Path, environments: Mapping[str, Environment], problems: list[Problem]
) -> dict[str, ModelSource]:
    """Every model folder (one with a config.yaml), by model name."""
    models: dict[str, ModelSource] = {}
    seen: dict[str, Path] = {}
    context = {"environments": tuple(environments)}
    limit = ENDPOINT_NAME_MAX - max((len(n) for n in environments), default=0) - 1
    for folder in sorted(p for p in (root / "models").iterdir() if p.is_dir()):
        path = folder / MODEL_CONFIG
        if not path.is_file():
            continue  # a folder without config.yaml is shared library code
        file = _load(path, ModelFile, problems, {**context, "model_dir": folder})
        if file is None:
            continue
        name = file.name or folder.name
        problem = _name_problem(path, file, name, limit, seen)
        if problem is not None:
            problems.append(problem)
            continue
        seen[name] = path
        models[name] = ModelSource(name, folder, file)
    return models


def _resolve_all(
    environments: Mapping[str, Environment],
    models: Mapping[str, ModelSource],
    problems: list[Problem],
) -> dict[tuple[str, str], ModelSpec]:
    """Every environment x model resolved: catches what only fails once overrides meet defaults."""
    resolved: dict[tuple[str, str], ModelSpec] = {}
    for env_name, env in environments.items():
        for source in models.values():
            try:
                resolved[env_name, source.name] = resolve(env, env_name, source)
            except ValidationError as error:
                problems.extend(
                    problems_from(
                        source.folder / MODEL_CONFIG,
                        error.errors(),
                        None,
                        prefix=f"environments.{env_name}",
                    )
                )
    return resolved


def load_project(root: Path) -> Project:
    """Load and check every config under `root`; raise one ConfigError listing all problems."""
    problems: list[Problem] = []
    environments = _load_environments(root, problems)
    models = _load_models(root, environments, problems)
    resolved = _resolve_all(environments, models, problems) if not problems else {}
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
