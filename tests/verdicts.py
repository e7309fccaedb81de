"""A content-addressed cache of scanner verdicts (cfn-lint, checkov) over template files.

A scanner's findings depend only on the bytes it reads and on the scanner itself, so a run is
remembered under a key made of everything that can change them: each template's sha256, the
command line (template paths stood in by their position), the installed packages of the
scanner's environment (names with versions, and the scanner's own file list with hashes), its
config files in the working directory and the home directory, the working directory, and the
environment variables it reads (regions, its own settings). What is remembered is the whole
run: exit code, stdout and stderr, with the template paths put back on a hit, so a test asserts
on the scanner's findings exactly as it would on a fresh run. A changed template, scanner
version, config or region is a miss, and a miss runs the real scanner; like mypy's and ruff's
caches, a fresh clone (CI) scans everything.

Entries live in `.cache/verdicts/` (gitignored), one JSON file per key, written atomically
(temporary file, then rename), so two pytest workers may share them; an entry that cannot be
read is ignored and written again. A run the scanner did not finish (killed by a signal, or a
report the caller cannot read) is not remembered. `VERDICT_CACHE=off` turns the cache off.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CACHE_DIR = Path(__file__).resolve().parents[1] / ".cache" / "verdicts"

# Stands in for the n-th template's path in a remembered command line and output.
_PLACEHOLDER = "<<template-{}>>"


@dataclass(frozen=True)
class Scanner:
    """A scanner run from its own environment.

    Args:
        name: the scanner's distribution name (its dist-info folder, its cache subfolder).
        executable: the console script, inside a virtual environment.
        config_files: names of the config files it reads from the working and home directories.
        env_prefixes: prefixes of the environment variables that change its findings.
    """

    name: str
    executable: Path
    config_files: tuple[str, ...]
    env_prefixes: tuple[str, ...]

    def identity(self) -> dict[str, Any]:
        """The installed packages of the scanner's environment (a version or a file of the
        scanner changed: another key)."""
        venv = self.executable.parent.parent
        packages = sorted(
            p.name for site in venv.glob("lib/python*/site-packages") for p in site.iterdir()
        )
        records = sorted(
            venv.glob(f"lib/python*/site-packages/{self.name.replace('-', '_')}-*.dist-info/RECORD")
        )
        return {
            "environment": str(venv.resolve()),
            "packages": hashlib.sha256("\n".join(packages).encode()).hexdigest(),
            "records": [hashlib.sha256(r.read_bytes()).hexdigest() for r in records],
        }


def key_of(
    scanner: Scanner, command: Sequence[str], templates: Sequence[Path], env: dict[str, str]
) -> str:
    """The sha256 of everything the scanner's verdict over `templates` depends on."""
    cwd = Path.cwd()
    configs = {
        str(folder / name): _read_or_none(folder / name)
        for folder in (cwd, Path.home())
        for name in scanner.config_files
    }
    inputs = {
        "scanner": scanner.name,
        "identity": scanner.identity(),
        "command": _stand_in(list(command), templates),
        "templates": [hashlib.sha256(t.read_bytes()).hexdigest() for t in templates],
        "configs": configs,
        "cwd": str(cwd),
        "env": {k: v for k, v in sorted(env.items()) if k.startswith(scanner.env_prefixes)},
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def run(
    scanner: Scanner,
    command: Sequence[str],
    templates: Sequence[Path],
    *,
    env: dict[str, str],
    timeout: float,
    complete: Callable[[subprocess.CompletedProcess[str]], bool] = lambda _: True,
    cache_dir: Path = CACHE_DIR,
) -> subprocess.CompletedProcess[str]:
    """`command` (which names each of `templates`) as the scanner would answer it now.

    `complete` says whether a fresh run is a verdict worth remembering (checkov: its report
    parses); a run killed by a signal never is."""
    if os.environ.get("VERDICT_CACHE") == "off":
        return _scan(command, env=env, timeout=timeout)
    entry = cache_dir / scanner.name / f"{key_of(scanner, command, templates, env)}.json"
    remembered = _read_entry(entry)
    if remembered is not None:
        returncode, stdout, stderr = remembered
        return subprocess.CompletedProcess(
            list(command), returncode, _put_back(stdout, templates), _put_back(stderr, templates)
        )
    result = _scan(command, env=env, timeout=timeout)
    if result.returncode >= 0 and complete(result):
        _write_entry(
            entry,
            {
                "returncode": result.returncode,
                "stdout": _stand_in([result.stdout], templates)[0],
                "stderr": _stand_in([result.stderr], templates)[0],
            },
        )
    return result


def _scan(
    command: Sequence[str], *, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command), capture_output=True, text=True, timeout=timeout, check=False, env=env
    )


def _read_or_none(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _stand_in(texts: list[str], templates: Sequence[Path]) -> list[str]:
    """Each template's path (as given, and absolute) replaced by its placeholder; the longest
    first, so that no path is cut inside a longer one."""
    names = {
        spelling: _PLACEHOLDER.format(i)
        for i, template in enumerate(templates)
        for spelling in (str(template), str(template.resolve()))
    }
    out = []
    for text in texts:
        for spelling in sorted(names, key=len, reverse=True):
            text = text.replace(spelling, names[spelling])
        out.append(text)
    return out


def _put_back(text: str, templates: Sequence[Path]) -> str:
    for i, template in enumerate(templates):
        text = text.replace(_PLACEHOLDER.format(i), str(template))
    return text


def _read_entry(entry: Path) -> tuple[int, str, str] | None:
    """A remembered run, or None when there is none or it cannot be read (a miss)."""
    try:
        data = json.loads(entry.read_text())
        returncode, stdout, stderr = data["returncode"], data["stdout"], data["stderr"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not (isinstance(returncode, int) and isinstance(stdout, str) and isinstance(stderr, str)):
        return None
    return returncode, stdout, stderr


def _write_entry(entry: Path, data: dict[str, Any]) -> None:
    entry.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=entry.parent, prefix=".", suffix=".tmp")
    with os.fdopen(fd, "w") as out:
        json.dump(data, out)
    Path(temporary).replace(entry)
