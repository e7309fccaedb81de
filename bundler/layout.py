"""Which files go into model.tar.gz, and where: SageMaker's PyTorch layout.

    model.tar.gz
    ├── model.pt                 weights, at the top (SageMaker extracts to /opt/ml/model)
    └── code/
        ├── inference.py         SAGEMAKER_PROGRAM
        ├── requirements.txt
        ├── model.py             the model's own modules
        └── <shared>/            shared library folders from models/

Collecting is also where the safety rules live: nothing outside the model folder, no
secret-looking files, no build litter.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# Skipped silently: build and editor litter that never belongs in a bundle.
SKIPPED_DIRS = frozenset(
    {"__pycache__", ".git", ".ipynb_checkpoints", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
)
SKIPPED_FILES = ("*.pyc", "*.pyo", ".DS_Store")
# Refused loudly: a file that looks like a secret must never reach an S3 bucket.
SECRET_PATTERNS = (
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "id_rsa*",
    "id_ed25519*",
    "credentials*",
    ".netrc",
    ".pypirc",
)


class BundleError(Exception):
    """A model folder cannot be bundled; the message names the file and the fix."""


@dataclass(frozen=True)
class Entry:
    """One regular file in the archive."""

    arcname: str
    source: Path
    executable: bool = False


@dataclass(frozen=True)
class BundleSpec:
    """What to bundle: paths are relative to `model_dir` unless noted.

    Args:
        model_dir: the model folder.
        weights: weight files, placed at the archive's top under their own names.
        code: glob patterns of files placed under code/, keeping their relative paths.
        shared: shared library folders (absolute paths) copied whole to code/<folder name>/.
    """

    model_dir: Path
    weights: tuple[str, ...]
    code: tuple[str, ...] = ("*.py", "requirements.txt")
    shared: tuple[Path, ...] = ()


def collect(spec: BundleSpec) -> list[Entry]:
    """Every file of the bundle, sorted by archive name; raises BundleError on a refusal."""
    root = _real_dir(spec.model_dir)
    entries: dict[str, Entry] = {}

    def add(arcname: str, path: Path, base: Path) -> None:
        source = _checked_file(path, base)
        if arcname in entries and entries[arcname].source != source:
            raise BundleError(
                f"{arcname}: two files map to the same place in the archive "
                f"({entries[arcname].source} and {source})"
            )
        mode = source.stat().st_mode
        entries[arcname] = Entry(arcname, source, bool(mode & stat.S_IXUSR))

    weight_names = set()
    for weight in spec.weights:
        path = root / weight
        if not path.is_file() and not path.is_symlink():
            raise BundleError(f"{path}: weights file does not exist")
        name = PurePosixPath(weight).name
        weight_names.add(weight)
        add(name, path, root)

    for relative in _matching(root, spec.code):
        if relative in weight_names:
            continue
        add(f"code/{relative}", root / relative, root)

    for folder in spec.shared:
        base = _real_dir(folder)
        for relative in _walk(base):
            add(f"code/{folder.name}/{relative}", base / relative, base)

    return [entries[name] for name in sorted(entries)]


def _real_dir(folder: Path) -> Path:
    try:
        real = folder.resolve(strict=True)
    except (OSError, RuntimeError) as error:
        raise BundleError(f"{folder}: cannot be opened ({error})") from error
    if not real.is_dir():
        raise BundleError(f"{folder}: is not a folder")
    return real


def _checked_file(path: Path, base: Path) -> Path:
    """Apply the safety rules to one file and return its real path."""
    name = path.name
    if any(fnmatch.fnmatch(name, pattern) for pattern in SECRET_PATTERNS):
        raise BundleError(
            f"{path}: looks like a secret ({name}); secrets never go into a model bundle. "
            "Move it out of the model folder (or rename it if it is not a secret)."
        )
    try:
        real = path.resolve(strict=True)
    except RuntimeError as error:  # Python 3.11 reports symlink loops this way
        raise BundleError(f"{path}: symlink loop ({error})") from error
    except OSError as error:
        raise BundleError(f"{path}: cannot be read ({error})") from error
    if not real.is_relative_to(base):
        raise BundleError(
            f"{path}: is a symlink to {real}, outside {base}; copy the file into the folder instead"
        )
    if not real.is_file():
        raise BundleError(f"{path}: is not a regular file")
    return real


def skipped(relative: PurePosixPath) -> bool:
    """Whether a file at `relative` (below a bundled folder) is litter that is never bundled."""
    if any(part in SKIPPED_DIRS for part in relative.parts[:-1]):
        return True
    return any(fnmatch.fnmatch(relative.name, pattern) for pattern in SKIPPED_FILES)


def _walk(base: Path) -> Iterator[str]:
    """Files below `base` as relative POSIX paths, litter skipped, symlinked dirs not entered."""
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        for dirname in dirnames:
            if (here / dirname).is_symlink():
                raise BundleError(
                    f"{here / dirname}: symlinked folders are not bundled; copy the folder"
                )
        for filename in sorted(filenames):
            relative = PurePosixPath((here / filename).relative_to(base).as_posix())
            if not skipped(relative):
                yield str(relative)


def _matching(root: Path, patterns: Iterable[str]) -> list[str]:
    """Files under `root` whose relative path matches any glob (`**` crosses folders).

    When every pattern starts with a literal folder (`iris/*.py`, as the training code archive
    asks of models/), only those folders are walked, not every sibling: the same matches
    without reading each other model's folder once per model.
    """
    patterns = tuple(patterns)
    found = []
    for relative in _candidates(root, patterns):
        path = PurePosixPath(relative)
        if any(
            path.full_match(p) if hasattr(path, "full_match") else _glob(path, p) for p in patterns
        ):
            found.append(relative)
    return found


def _candidates(root: Path, patterns: tuple[str, ...]) -> Iterator[str]:
    firsts = {PurePosixPath(p).parts[0] for p in patterns if len(PurePosixPath(p).parts) > 1}
    literal = all(len(PurePosixPath(p).parts) > 1 for p in patterns) and not any(
        any(c in first for c in "*?[") or first in (".", "..") for first in firsts
    )
    if not literal:
        yield from _walk(root)
        return
    for first in sorted(firsts):
        folder = root / first
        if first in SKIPPED_DIRS or not folder.is_dir():
            continue
        if folder.is_symlink():
            raise BundleError(f"{folder}: symlinked folders are not bundled; copy the folder")
        for relative in _walk(folder):
            yield f"{first}/{relative}"


def _glob(path: PurePosixPath, pattern: str) -> bool:
    """Glob match on whole relative paths: `*` stays within a folder, `**/` spans folders."""
    if pattern.startswith("**/"):
        rest = pattern[3:]
        parts = path.parts
        return any(_glob(PurePosixPath(*parts[i:]), rest) for i in range(len(parts)))
    pattern_parts = PurePosixPath(pattern).parts
    if len(pattern_parts) != len(path.parts):
        return False
    return all(fnmatch.fnmatchcase(p, q) for p, q in zip(path.parts, pattern_parts, strict=True))
