"""The PR diff of a one-model change in a 50-model repository, and the fire drill of one model.

Diff: a generated project (`bench.generate`) is the base; a copy with one model's weights
retrained (seeded noise) is the head. Both are synthesized as `make diff` does: by
`python -m ops diff-synth` (the real CLI, all environments, one bundle cache shared by both; only
the stacks that read the changed folders, the two sides at once), the changed files given as
the paths that differ between the two trees (what `git diff` + untracked files list for
`make diff`). Then `python -m ops diff --project --scope` renders the comment with the model
section. The split: the two synths (together, as they run), the engine (the diff without its
evaluation) and the evaluation (the model's base and head answering its evaluation set), then
the same diff again, evaluations from the cache.

Drill: `python -m ops drill --model iris` as `make drill` runs it (default fault, environment
and time scale), its whole process tree watched.
"""

from __future__ import annotations

import filecmp
import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from bench import generate, tree
from bench.deploy_local import environment
from bench.measure import ROOT

DIFF_TARGET_SECONDS = 60.0
DRILL_TARGET_SECONDS = 180.0
_EVALUATED = re.compile(r"diff: (\d+) model\(s\) evaluated in ([0-9.]+) s")


@dataclass(frozen=True)
class DiffResult:
    models: int
    synths: tree.TreeSample  # base and head, at once, only the stacks the change affects
    stacks: tuple[int, int]  # stacks synthesized per side, of `total`
    total: int
    diff: tree.TreeSample  # engine + evaluation
    evaluation_seconds: float
    cached_diff: tree.TreeSample  # the same diff again: evaluations from the cache
    cached_evaluation_seconds: float

    @property
    def engine_seconds(self) -> float:
        return self.diff.seconds - self.evaluation_seconds

    @property
    def total_seconds(self) -> float:
        return self.synths.seconds + self.diff.seconds


def _checked(sample: tree.TreeSample, what: str) -> tree.TreeSample:
    if sample.returncode not in (0,):
        raise RuntimeError(f"{what} failed:\n{(sample.stdout + sample.stderr)[-4000:]}")
    return sample


def changed_paths(base: Path, head: Path) -> list[str]:
    """Files (relative, POSIX) added, removed or different between two trees."""
    files = {
        path.relative_to(root).as_posix()
        for root in (base, head)
        for path in root.rglob("*")
        if path.is_file() and "cdk.out" not in path.relative_to(root).parts
    }
    return sorted(
        name
        for name in files
        if not ((base / name).is_file() and (head / name).is_file())
        or not filecmp.cmp(base / name, head / name, shallow=False)
    )


def _synths(base: Path, head: Path, work: Path) -> tuple[tree.TreeSample, dict[str, object]]:
    """`make diff`'s synth step on two generated projects, and the scope it chose."""
    changed = work / "changed.txt"
    changed.write_text("".join(f"{name}\n" for name in changed_paths(base, head)))
    command = [
        sys.executable, "-m", "ops", "diff-synth",
        "--base", str(base), "--head", str(head), "--code", str(ROOT),
        "--base-out", str(base / "cdk.out"), "--head-out", str(head / "cdk.out"),
        "--changed-files", str(changed), "--scope", str(work / "scope.json"),
        "--bundle-cache", str(work / "bundles"),
        "--cdk", str(ROOT / "node_modules" / ".bin" / "cdk"),
    ]  # fmt: skip
    sample = _checked(tree.run(command, cwd=ROOT, env=environment()), "ops diff-synth")
    scope: dict[str, object] = json.loads((work / "scope.json").read_text())
    return sample, scope


def _evaluated(sample: tree.TreeSample) -> float:
    found = _EVALUATED.findall(sample.stderr)
    if not found or int(found[-1][0]) != 1:
        raise RuntimeError(f"the diff did not evaluate exactly one model:\n{sample.stderr[-3000:]}")
    return float(found[-1][1])


def _count(names: object) -> int:
    return len(names) if isinstance(names, list) else -1


def measure_diff(workdir: Path, models: int) -> DiffResult:
    work = workdir / f"diff-{models}"
    base, head = work / "base", work / "head"
    generate.generate(models=models, out=base)
    shutil.rmtree(head, ignore_errors=True)
    shutil.copytree(base, head)
    changed = head / "models" / generate.model_name(0) / generate.WEIGHTS
    generate.nudge(changed, seed=99)
    synths, scope = _synths(base, head, work)
    command = [
        sys.executable, "-m", "ops", "diff",
        "--base", str(base / "cdk.out"), "--head", str(head / "cdk.out"),
        "--scope", str(work / "scope.json"),
        "--project", str(head), "--base-project", str(base),
        "--evaluation-cache", str(work / "evaluations"),
        "--output", str(work / "diff.md"),
    ]  # fmt: skip
    diff = _checked(tree.run(command, cwd=ROOT, env=environment()), "ops diff")
    markdown = (work / "diff.md").read_text()
    if f"`{generate.model_name(0)}`: new model version" not in markdown:
        raise RuntimeError(f"the model section does not show the changed model:\n{markdown[:3000]}")
    again = _checked(tree.run(command, cwd=ROOT, env=environment()), "ops diff, again")
    result = DiffResult(
        models,
        synths,
        (_count(scope.get("base")), _count(scope.get("head"))),
        int(str(scope.get("total", 0))),
        diff,
        _evaluated(diff),
        again,
        _evaluated(again),
    )
    shutil.rmtree(work, ignore_errors=True)
    return result


@dataclass(frozen=True)
class DrillResult:
    sample: tree.TreeSample
    steps: dict[str, float]


def measure_drill(workdir: Path, model: str = "iris") -> DrillResult:
    command = [
        sys.executable, "-m", "ops", "drill", "--model", model, "--work", str(workdir / "drill"),
    ]  # fmt: skip
    sample = _checked(tree.run(command, cwd=ROOT, env=environment()), f"the drill of {model}")
    lines = [line for line in sample.stdout.splitlines() if line.startswith("drill: ")]
    steps: dict[str, float] = {}
    for line in lines[-1:]:
        split = line.removeprefix("drill: ").split(";")[0]
        steps = {n: float(s) for n, s in re.findall(r"([a-z][a-z -]*?) ([0-9.]+) s", split)}
    shutil.rmtree(workdir / "drill", ignore_errors=True)
    return DrillResult(sample, steps)
