"""The PR diff of a one-model change in a 50-model repository, and the fire drill of one model.

Diff: a generated project (`bench.generate`) is the base; a copy with one model's weights
retrained (seeded noise) is the head. Each is synthesized as `make diff` does (the real CLI, all
environments, one bundle cache shared by both, so the head reuses the 49 unchanged bundles);
then `python -m ops diff --project` renders the comment with the model section. The split: the
two synths, the engine (the diff without its evaluation) and the evaluation (the model's base
and head answering its evaluation set), then the same diff again, evaluations from the cache.

Drill: `python -m ops drill --model iris` as `make drill` runs it (default fault, environment
and time scale), its whole process tree watched.
"""

from __future__ import annotations

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
    base_synth: tree.TreeSample
    head_synth: tree.TreeSample
    diff: tree.TreeSample  # engine + evaluation
    evaluation_seconds: float
    cached_diff: tree.TreeSample  # the same diff again: evaluations from the cache
    cached_evaluation_seconds: float

    @property
    def engine_seconds(self) -> float:
        return self.diff.seconds - self.evaluation_seconds

    @property
    def total_seconds(self) -> float:
        return self.base_synth.seconds + self.head_synth.seconds + self.diff.seconds


def _checked(sample: tree.TreeSample, what: str) -> tree.TreeSample:
    if sample.returncode not in (0,):
        raise RuntimeError(f"{what} failed:\n{(sample.stdout + sample.stderr)[-4000:]}")
    return sample


def _synth(project: Path, bundles: Path) -> tree.TreeSample:
    command = [
        str(ROOT / "node_modules" / ".bin" / "cdk"), "synth", "--quiet",
        "--app", f"{ROOT / '.venv' / 'bin' / 'python'} app.py",
        "--output", str(project / "cdk.out"),
        "--context", f"projectRoot={project}",
        "--context", f"bundleCacheDir={bundles}",
    ]  # fmt: skip
    return _checked(tree.run(command, cwd=ROOT, env=environment()), f"synth of {project}")


def _evaluated(sample: tree.TreeSample) -> float:
    found = _EVALUATED.findall(sample.stderr)
    if not found or int(found[-1][0]) != 1:
        raise RuntimeError(f"the diff did not evaluate exactly one model:\n{sample.stderr[-3000:]}")
    return float(found[-1][1])


def measure_diff(workdir: Path, models: int) -> DiffResult:
    base = workdir / f"diff-{models}" / "base"
    head = workdir / f"diff-{models}" / "head"
    generate.generate(models=models, out=base)
    shutil.rmtree(head, ignore_errors=True)
    shutil.copytree(base, head)
    changed = head / "models" / generate.model_name(0) / generate.WEIGHTS
    generate.nudge(changed, seed=99)
    bundles = workdir / f"diff-{models}" / "bundles"
    base_synth, head_synth = _synth(base, bundles), _synth(head, bundles)
    command = [
        sys.executable, "-m", "ops", "diff",
        "--base", str(base / "cdk.out"), "--head", str(head / "cdk.out"),
        "--project", str(head), "--base-project", str(base),
        "--evaluation-cache", str(workdir / f"diff-{models}" / "evaluations"),
        "--output", str(workdir / f"diff-{models}" / "diff.md"),
    ]  # fmt: skip
    diff = _checked(tree.run(command, cwd=ROOT, env=environment()), "ops diff")
    markdown = (workdir / f"diff-{models}" / "diff.md").read_text()
    if f"`{generate.model_name(0)}`: new model version" not in markdown:
        raise RuntimeError(f"the model section does not show the changed model:\n{markdown[:3000]}")
    again = _checked(tree.run(command, cwd=ROOT, env=environment()), "ops diff, again")
    result = DiffResult(
        models, base_synth, head_synth, diff, _evaluated(diff), again, _evaluated(again)
    )
    shutil.rmtree(workdir / f"diff-{models}", ignore_errors=True)
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
