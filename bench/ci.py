"""`.ci/run` on a fresh clone of the committed work, watched whole: issue 19's CI target.

As CI runs it: `git clone` of the repository's HEAD into the work folder (committed work only: no
venvs, node_modules, bundle or verdict caches), then `CI=true bash .ci/run` in it. What the
machine keeps between CI runs stays as it is (uv's wheel cache in ~/.cache/uv, npm's cache), so
the figure is the one a CI run on this machine gets. The split is `.ci/run`'s own phase lines
(`ci: <phase> took N s`); the tests that passed are read from pytest's last summary line.

CPU time is the kernel's count for `.ci/run` and every process it waited for, directly or
through its children (`wait4`; a process that left its parent's tree to be reaped by init is not
in it). Peak memory is the largest sum of resident sets seen at once in the tree (`bench.tree`),
sampled every second: the run is ten minutes long and a sample walks every process, so a
shorter interval would cost the run itself CPU time.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench import tree
from bench.measure import ROOT

TARGET_SECONDS = 600.0
_PHASE = re.compile(r"^ci: (.+) took (\d+) s$", re.MULTILINE)
_SUMMARY = re.compile(r"^=+ (.*\b(?:passed|failed)\b.*) in [0-9.]+s\b.*=+$", re.MULTILINE)
# Set by a developer's shell or by `make`, never by CI's: they would change what .ci/run does.
_NOT_IN_CI = (
    "VIRTUAL_ENV", "PYTHONPATH", "PYTEST_ADDOPTS", "HYPOTHESIS_PROFILE", "VERDICT_CACHE",
    "MAKEFLAGS", "MAKELEVEL", "MFLAGS",
)  # fmt: skip


@dataclass(frozen=True)
class CiResult:
    commit: str
    sample: tree.TreeSample
    phases: dict[str, float]  # `.ci/run`'s phases in order: seconds
    tests: str  # pytest's last summary, e.g. "844 passed, 1 skipped"; "" when none was printed
    uncommitted: int  # changed or untracked files in the source, which the clone leaves out

    @property
    def passed(self) -> bool:
        return self.sample.returncode == 0


def phases_of(output: str) -> dict[str, float]:
    """`ci: installing the environments took 94 s` ... -> {"installing the environments": 94}."""
    return {name: float(seconds) for name, seconds in _PHASE.findall(output)}


def tests_of(output: str) -> str:
    """The counts of pytest's last summary line, or "" when it printed none."""
    found = _SUMMARY.findall(output)
    return found[-1] if found else ""


def environment() -> dict[str, str]:
    """This process's environment without what a developer's shell or `make` adds, plus CI."""
    env = {key: value for key, value in os.environ.items() if key not in _NOT_IN_CI}
    return {**env, "CI": "true"}


def _git(source: Path, *arguments: str) -> str:
    done = subprocess.run(
        ["git", *arguments], cwd=source, capture_output=True, text=True, check=True
    )
    return done.stdout


def measure(workdir: Path, source: Path = ROOT, *, interval: float = 1.0) -> CiResult:
    """Clone `source`'s HEAD into `workdir`, run its `.ci/run`, remove the clone.

    Raises:
        RuntimeError: `source` is not a git repository with a commit.
    """
    try:
        commit = _git(source, "rev-parse", "--short", "HEAD").strip()
        uncommitted = len(_git(source, "status", "--porcelain").splitlines())
    except (subprocess.CalledProcessError, OSError) as error:
        raise RuntimeError(f"{source} has no commit to clone: {error}") from error
    clone = workdir / "ci-clone"
    shutil.rmtree(clone, ignore_errors=True)
    _git(source, "clone", "--quiet", "--no-hardlinks", str(source), str(clone))
    try:
        sample = tree.run(["bash", ".ci/run"], cwd=clone, env=environment(), interval=interval)
    finally:
        shutil.rmtree(clone, ignore_errors=True)
    output = sample.stdout + sample.stderr
    return CiResult(commit, sample, phases_of(output), tests_of(output), uncommitted)
