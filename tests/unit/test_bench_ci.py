"""The CI scenario of `make bench`: a fresh clone of the committed work runs its own `.ci/run`
with CI's environment, its phases and test counts are read from what it printed, its CPU time is
the kernel's count, and the clone is gone afterwards."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bench import ci
from bench.__main__ import arguments, sections

# What `.ci/run` and pytest print, as in a real run's log.
CI_OUTPUT = """\
touch .venv/.installed
ci: installing the environments took 94 s
============ 843 passed, 1 skipped, 3 warnings in 440.12s (0:07:20) ============
Success: no issues found in 412 source files
ci: lint beside the tests took 467 s
ci: lint exit 0, tests exit 0
"""

STAND_IN_RUN = """\
set -eu
echo "ci: installing the environments took 2 s"
# a clone: committed files only, and CI's environment
test -f committed.txt && test ! -e untracked.txt
test "$CI" = true && test -z "${VIRTUAL_ENV:-}" && test -z "${PYTEST_ADDOPTS:-}"
# a grandchild spinning 0.5 CPU-s, waited for by its parent
python3 -c 'import time
end = time.process_time() + 0.5
while time.process_time() < end: pass'
echo "=========== 2 passed, 1 failed in 0.61s ==========="
echo "ci: lint beside the tests took 1 s"
exit "${EXIT_WITH:-0}"
"""


def test_phases_and_test_counts_are_read_from_the_log() -> None:
    assert ci.phases_of(CI_OUTPUT) == {
        "installing the environments": 94.0,
        "lint beside the tests": 467.0,
    }
    assert ci.tests_of(CI_OUTPUT) == "843 passed, 1 skipped, 3 warnings"
    assert ci.phases_of("nothing here") == {} and ci.tests_of("nothing here") == ""


def stand_in_repository(path: Path, *, exit_with: int = 0) -> Path:
    (path / ".ci").mkdir(parents=True)
    (path / ".ci" / "run").write_text(STAND_IN_RUN.replace("${EXIT_WITH:-0}", str(exit_with)))
    (path / "committed.txt").write_text("in HEAD\n")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    subprocess.run([*git, "init", "--quiet", str(path)], check=True)
    subprocess.run([*git, "add", "."], cwd=path, check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", "stand-in"], cwd=path, check=True)
    (path / "untracked.txt").write_text("not committed\n")
    return path


def test_a_fresh_clone_runs_its_own_ci_and_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = stand_in_repository(tmp_path / "source")
    monkeypatch.setenv("VIRTUAL_ENV", str(tmp_path / "a-developer's-venv"))
    monkeypatch.setenv("PYTEST_ADDOPTS", "-x")
    work = tmp_path / "work"
    work.mkdir()
    result = ci.measure(work, source, interval=0.05)
    out = result.sample.stdout + result.sample.stderr
    assert result.passed, out
    assert result.phases == {"installing the environments": 2.0, "lint beside the tests": 1.0}
    assert result.tests == "2 passed, 1 failed"
    assert result.uncommitted == 1  # untracked.txt, left out of the clone
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=source, capture_output=True, text=True
    )
    assert result.commit == head.stdout.strip()
    # The grandchild's 0.5 CPU-s are in the kernel's count; bash alone spends a few ms.
    assert result.sample.waited_cpu_seconds >= 0.45
    assert list(work.iterdir()) == []


def test_a_red_run_is_not_passed(tmp_path: Path) -> None:
    source = stand_in_repository(tmp_path / "source", exit_with=3)
    result = ci.measure(tmp_path, source, interval=0.05)
    assert result.sample.returncode == 3 and not result.passed


def test_a_folder_without_commits_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="no commit to clone"):
        ci.measure(tmp_path, tmp_path)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ([], ["bundling", "synth", "model-diff", "scale", "ci"]),
        (["--quick"], ["bundling", "synth"]),
        (["--skip-ci", "--skip-scale"], ["bundling", "synth", "model-diff"]),
        (["--only-ci"], ["ci"]),
        (["--only-scale"], ["scale"]),
        (["--only-scale", "--only-ci"], ["scale", "ci"]),
        (["--only-ci", "--quick"], []),
    ],
)
def test_the_flags_choose_the_sections(flags: list[str], expected: list[str]) -> None:
    assert sections(arguments().parse_args(flags)) == expected
