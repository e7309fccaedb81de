"""What `code/requirements.txt` asks the serving container to install, and what the bundle
already holds.

SageMaker's PyTorch inference toolkit installs the file when the container starts: if
`/opt/ml/model/code/requirements.txt` exists it runs `python -m pip install -r` on it
(`sagemaker_pytorch_serving_container.torchserve.start_torchserve` calls
`sagemaker_inference.model_server._install_requirements`), with `code/` on PYTHONPATH, and a pip
failure stops the container. With network isolation pip reaches no index, so start-up fails
unless pip finds every requirement already satisfied. pip looks for installed distributions on
`sys.path`, which holds `code/`: a package vendored with `pip install --target code/ ...` (its
`<name>-<version>.dist-info` folder at the top of `code/`) is satisfied without the network.

What counts as a listed package is what pip would install: every requirement line, after pip's
own file syntax (comments, blank lines, `\\` continuations, `-r` includes) is read. A file of
comments only, as the example models ship, lists nothing (pip installs nothing and succeeds).
Options (`--index-url`, `-c` constraints) list nothing. Conservative choices, because the
container's answers cannot be known when synthesizing: an environment marker is not evaluated
(the requirement counts as listed); a package the serving image already carries (torch,
numpy) counts as listed too (remove its line: the image has it); URLs, paths and editable
installs can never be satisfied by the bundle; dependencies of vendored packages are not
followed (`pip install --target` vendors them too).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path, PurePosixPath

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

REQUIREMENTS = "requirements.txt"
# pip's options that take the next word as a file of more requirements.
_INCLUDES = ("-r", "--requirement")
_EDITABLE = ("-e", "--editable")
_COMMENT = re.compile(r"(^|\s+)#.*$")
# Folders pip reads installed distributions from: name and version in their metadata file.
_METADATA = {".dist-info": "METADATA", ".egg-info": "PKG-INFO"}


@dataclass(frozen=True)
class Listed:
    """One requirement pip would install: where it is written, and what it asks for."""

    file: str  # path relative to code/
    line: int
    text: str
    requirement: Requirement | None  # None: a URL, path or editable install


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, line) with `\\` continuations joined and comments removed, as pip
    reads a requirements file."""
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        if raw.endswith("\\"):
            pending += raw[:-1]
            continue
        line = _COMMENT.sub("", pending + raw).strip()
        pending = ""
        if line:
            yield start, line
    if pending.strip():
        yield start, _COMMENT.sub("", pending).strip()


def listed(files: Mapping[str, Path], name: str = REQUIREMENTS) -> list[Listed]:
    """Every requirement of `code/<name>` (following `-r` includes), in file order.

    Args:
        files: the bundle's files under code/, by path relative to code/ ('requirements.txt').
        name: the requirements file to read.
    """
    found: list[Listed] = []
    seen: set[str] = set()

    def read(relative: str) -> None:
        if relative in seen:
            return
        seen.add(relative)
        text = files[relative].read_text(encoding="utf-8", errors="replace")
        for number, line in _logical_lines(text):
            word, _, rest = line.partition(" ")
            word, _, attached = word.partition("=")
            argument = (attached or rest).strip()
            if word in _INCLUDES:
                included = str(PurePosixPath(relative).parent / argument)
                if included in files:
                    read(included)
                else:  # pip would stop here: count the include itself as something missing
                    found.append(Listed(relative, number, line, None))
            elif word in _EDITABLE:
                found.append(Listed(relative, number, line, None))
            elif line.startswith("-"):
                continue  # an option: an index, a constraints file, a pip flag
            else:
                try:
                    requirement: Requirement | None = Requirement(line.split(" --", 1)[0])
                except InvalidRequirement:
                    requirement = None
                found.append(Listed(relative, number, line, requirement))

    if name in files:
        read(name)
    return found


def _installed(files: Mapping[str, Path]) -> dict[str, Version | None]:
    """Distributions whose metadata sits at the top of code/, by canonical name."""
    found: dict[str, Version | None] = {}
    for relative, path in files.items():
        parts = PurePosixPath(relative).parts
        if len(parts) != 2:
            continue
        folder, file = parts
        suffix = next((s for s in _METADATA if folder.endswith(s)), None)
        if suffix is None or file != _METADATA[suffix]:
            continue
        headers = HeaderParser().parsestr(path.read_text(encoding="utf-8", errors="replace"))
        if not headers.get("Name"):
            continue
        try:
            version: Version | None = Version(str(headers.get("Version", "")))
        except InvalidVersion:
            version = None
        found[canonicalize_name(str(headers["Name"]))] = version
    return found


def unvendored(files: Mapping[str, Path]) -> list[Listed]:
    """The requirements of `code/requirements.txt` that the bundle's `code/` does not satisfy:
    what pip would have to fetch from an index when the container starts."""
    wanted = listed(files)
    if not wanted:
        return []
    installed = _installed(files)
    missing = []
    for item in wanted:
        requirement = item.requirement
        if requirement is None or requirement.url:
            missing.append(item)
            continue
        name = canonicalize_name(requirement.name)
        if name not in installed:
            missing.append(item)
            continue
        version = installed[name]
        if requirement.specifier and (
            version is None or not requirement.specifier.contains(version, prereleases=True)
        ):
            missing.append(item)
    return missing


def code_files(entries: Mapping[str, Path]) -> dict[str, Path]:
    """The files under `code/` of a bundle's entries (archive name -> source), by path
    relative to code/."""
    return {
        name.removeprefix("code/"): source
        for name, source in entries.items()
        if name.startswith("code/")
    }


def folder_files(code_dir: Path) -> dict[str, Path]:
    """The files of an extracted bundle's `code/` folder, by path relative to it."""
    if not code_dir.is_dir():
        return {}
    return {
        path.relative_to(code_dir).as_posix(): path
        for path in sorted(code_dir.rglob("*"))
        if path.is_file()
    }
