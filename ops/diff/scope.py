"""Which stacks a change can affect, so the PR diff synthesizes only those on both sides.

A stack is built from its model's folder, the `artifact.shared` folders its model names, the
folders of the models its variants serve (and their shared folders), `configs/*.yaml` and the
code (app.py, stacks/, configs/, bundler/, cdk.json, package*.json, pyproject.toml, ...). When
every changed file lies inside a `models/<folder>/` folder, only the deployments that read one
of those folders can differ between base and head: each side's project is loaded
(`configs.loader`, no CDK) and those deployments' stack names are selected, on both sides (a
model added or deleted is selected where it exists, so it still shows as created or destroyed).
Any other changed file (code, environment files, something at the top of `models/`) may change
every stack: then everything is synthesized, as without a scope.

Changed files are `git diff --name-only BASE` (committed, staged and unstaged changes) plus the
untracked files of the working tree (`changed_files`).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from configs.loader import Deployment, ModelSource, Project

MODELS = "models"


class ScopeError(Exception):
    """git could not say what changed (unknown base ref, not a repository)."""


@dataclass(frozen=True)
class Scope:
    """What to synthesize on each side.

    Attributes:
        base, head: the stack names to synthesize on each side; None means every stack.
        total: how many stacks the two sides have in all (names counted once).
        folders: the changed `models/` folders, when only model folders changed.
        reason: why everything is synthesized (empty when a selection is made).
    """

    base: tuple[str, ...] | None
    head: tuple[str, ...] | None
    total: int
    folders: tuple[str, ...] = ()
    reason: str = ""

    @property
    def everything(self) -> bool:
        return self.base is None or self.head is None

    @property
    def compared(self) -> tuple[str, ...]:
        """The stacks compared (both sides' selections), by name."""
        return tuple(sorted(set(self.base or ()) | set(self.head or ())))

    def to_json(self) -> dict[str, Any]:
        return {
            "base": None if self.base is None else list(self.base),
            "head": None if self.head is None else list(self.head),
            "total": self.total,
            "folders": list(self.folders),
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Scope:
        """The scope `to_json` wrote."""

        def names(value: Any) -> tuple[str, ...] | None:
            return None if value is None else tuple(str(item) for item in value)

        return cls(
            base=names(data.get("base")),
            head=names(data.get("head")),
            total=int(data.get("total", 0)),
            folders=names(data.get("folders")) or (),
            reason=str(data.get("reason", "")),
        )


def changed_files(repository: Path, base: str) -> list[str]:
    """Paths (relative to the repository) that differ from `base` in the working tree, and the
    untracked files (`.gitignore`d ones excluded), sorted.

    Raises:
        ScopeError: git failed (unknown ref, not a repository); its message says why.
    """
    commands = (
        ["git", "diff", "--name-only", "--no-renames", base, "--"],
        ["git", "ls-files", "--others", "--exclude-standard"],
    )
    found: set[str] = set()
    for command in commands:
        done = subprocess.run(command, cwd=repository, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ScopeError(f"`{' '.join(command)}` failed: {done.stderr.strip()}")
        found.update(line for line in done.stdout.splitlines() if line)
    return sorted(found)


def model_folder(path: str) -> str | None:
    """`models/<folder>/...` -> folder; None for anything else (including files at the top of
    models/, which no single model owns)."""
    parts = PurePosixPath(path).parts
    if len(parts) >= 3 and parts[0] == MODELS:
        return parts[1]
    return None


def _folder_of(project: Project, name: str) -> ModelSource | None:
    """A model by name or by folder name (variants may name either)."""
    if name in project.models:
        return project.models[name]
    return next((s for s in project.models.values() if s.folder.name == name), None)


def _variant_models(deployment: Deployment) -> list[str]:
    """The other models this deployment's variants serve (as stacks/app_stacks reads them)."""
    spec = deployment.spec
    variants = [*spec.production_variants().values(), *spec.shadow().values()]
    return sorted({v.model for v in variants if v.model is not None})


def _outside(source: ModelSource, patterns: Iterable[str]) -> set[str] | None:
    """Folders under models/ that relative paths leaving the model's folder reach; None when
    one leaves models/ or names models/ itself (then anything may matter)."""
    folders: set[str] = set()
    models = source.folder.parent
    for pattern in patterns:
        if ".." not in PurePosixPath(pattern).parts:
            continue
        target = Path(os.path.normpath(source.folder / pattern))
        if not target.is_relative_to(models) or target == models:
            return None
        first = target.relative_to(models).parts[0]
        if any(char in first for char in "*?["):
            return None
        folders.add(first)
    return folders


def _own_folders(
    project: Project, source: ModelSource, spec_paths: Iterable[str]
) -> set[str] | None:
    """A model's folder, its shared folders and any folder its paths reach; None: unknown."""
    artifact = source.file.artifact
    reached = _outside(source, [*artifact.weights, *artifact.code, *spec_paths])
    if reached is None:
        return None
    return {source.folder.name, *artifact.shared, *reached}


def _spec_paths(deployment: Deployment) -> list[str]:
    """Files named by the deployment's resolved sections, relative to its folder."""
    data = deployment.spec.monitoring.data_quality.data
    return [str(data)] if data else []


def dependencies(project: Project, deployment: Deployment) -> set[str] | None:
    """The `models/` folders a deployment's stack reads; None when that cannot be bounded."""
    folders = _own_folders(project, deployment.source, _spec_paths(deployment))
    if folders is None:
        return None
    for name in _variant_models(deployment):
        served = _folder_of(project, name)
        if served is None:
            return None
        more = _own_folders(project, served, ())
        if more is None:
            return None
        folders |= more
    return folders


def affected(project: Project, folders: set[str]) -> tuple[str, ...]:
    """The stacks of `project` that read one of `folders`, by name."""
    chosen = []
    for deployment in project.deployments():
        reads = dependencies(project, deployment)
        if reads is None or reads & folders:
            chosen.append(deployment.stack_name)
    return tuple(sorted(chosen))


def _names(project: Project | None) -> set[str]:
    return {d.stack_name for d in project.deployments()} if project else set()


def select(*, base: Project | None, head: Project, changed: Sequence[str]) -> Scope:
    """The stacks to synthesize on each side for a change of `changed` files.

    `base` is None when the base's configuration cannot be loaded: then everything is built
    (the base synth reports what is wrong).
    """
    total = len(_names(base) | _names(head))
    outside = sorted(path for path in changed if model_folder(path) is None)
    if base is None:
        return Scope(None, None, total, reason="the base's configuration does not load")
    if outside:
        shown = ", ".join(f"`{path}`" for path in outside[:3])
        more = f" and {len(outside) - 3} more" if len(outside) > 3 else ""
        return Scope(None, None, total, reason=f"{shown}{more} changed outside models/<folder>/")
    folders = {folder for path in changed if (folder := model_folder(path))}
    return Scope(
        base=affected(base, folders),
        head=affected(head, folders),
        total=total,
        folders=tuple(sorted(folders)),
    )
