"""Where a training run came from: the commit, the data, the code and the packages it ran with.

Plain functions with no tracking library behind them, so a run's record can be put together
(and tested) without MLflow. Digests follow `sha256sum`: one file's digest is its sha256; a
folder's is the sha256 of the listing `sha256sum` prints for its files sorted by relative
path, so `find . -type f | sort | xargs sha256sum | sha256sum` gives the same value.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
import subprocess
from collections.abc import Iterable
from pathlib import Path

from modelkit.contract import CODE_GLOBS

# Package versions recorded as tags, beside the full list kept as an artifact.
KEY_PACKAGES = ("torch", "numpy", "mlflow-skinny", "sagemaker-mlflow")
_SKIPPED = ("__pycache__",)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def listing(files: Iterable[tuple[str, Path]]) -> str:
    """`sha256sum`'s output for (name, path) pairs, sorted by name."""
    return "".join(f"{file_sha256(path)}  {name}\n" for name, path in sorted(files))


def tree_listing(path: Path) -> str:
    """The listing of every file below the folder `path` (or of the one file `path`)."""
    if path.is_file():
        return listing([(path.name, path)])
    files = [
        (p.relative_to(path).as_posix(), p)
        for p in path.rglob("*")
        if p.is_file() and not _skipped(p.relative_to(path))
    ]
    return listing(files)


def tree_sha256(path: Path) -> str:
    """A file's sha256, or a folder's: the sha256 of the listing of every file below it."""
    if path.is_file():
        return file_sha256(path)
    return hashlib.sha256(tree_listing(path).encode()).hexdigest()


def code_files(source_dir: Path, shared: Iterable[Path]) -> list[tuple[str, Path]]:
    """The files a job exports as its code (`contract.export`): the model folder's `*.py` and
    requirements.txt, and each shared folder whole, named as they sit under models/."""
    files = [
        (f"{source_dir.name}/{p.name}", p)
        for pattern in CODE_GLOBS
        for p in source_dir.glob(pattern)
        if p.is_file()
    ]
    for folder in shared:
        files.extend(
            (f"{folder.name}/{p.relative_to(folder).as_posix()}", p)
            for p in folder.rglob("*")
            if p.is_file() and not _skipped(p.relative_to(folder))
        )
    return files


def code_sha256(source_dir: Path, shared: Iterable[Path]) -> str:
    """sha256 of the listing of the run's code files; equal code gives equal digests."""
    return hashlib.sha256(listing(code_files(source_dir, shared)).encode()).hexdigest()


def _skipped(relative: Path) -> bool:
    return any(part in _SKIPPED for part in relative.parts) or relative.suffix == ".pyc"


def git_state(folder: Path) -> dict[str, str]:
    """The commit, branch and dirty flag ('true'/'false') of the checkout holding `folder`;
    empty outside a git checkout (a SageMaker job runs from an archive)."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        branch = git("rev-parse", "--abbrev-ref", "HEAD")
        changes = git("status", "--porcelain")
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"commit": commit, "branch": branch, "dirty": str(bool(changes)).lower()}


def package_versions() -> dict[str, str]:
    """Python's version and each of `KEY_PACKAGES` that is installed."""
    versions = {"python": platform.python_version()}
    for name in KEY_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def installed_packages() -> str:
    """Every installed distribution as `name==version` lines, sorted: the run's environment."""
    seen = {
        f"{dist.metadata['Name']}=={dist.version}"
        for dist in importlib.metadata.distributions()
        if dist.metadata["Name"]
    }
    return "".join(f"{line}\n" for line in sorted(seen, key=str.lower))
