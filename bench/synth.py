"""`cdk synth` (the real CLI) of a project copy with N generated models x every environment.

The copy holds the project's code and configs and N copies of the example model (tiny
weights), so the figures show the per-stack cost of synth itself, not of compression:
cold = empty bundle cache and cloud assembly; warm = the same synth again, nothing changed.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from bench.measure import ROOT, Summary, run

CODE = ("app.py", "cdk.json", "stacks", "bundler", "configs", "ops")
EXAMPLE = "iris"


@dataclass(frozen=True)
class SynthResult:
    models: int
    stacks: int
    cold: Summary
    warm: Summary


def project_copy(target: Path, models: int) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "cdk.out")
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in CODE:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)
    for folder in sorted((ROOT / "models").iterdir()):
        if folder.is_dir() and not (folder / "config.yaml").is_file():
            shutil.copytree(folder, target / "models" / folder.name, ignore=ignore)
    for index in range(models):
        shutil.copytree(
            ROOT / "models" / EXAMPLE, target / "models" / f"model{index:03d}", ignore=ignore
        )
    return target


def synth_command(project: Path) -> list[str]:
    return [
        str(ROOT / "node_modules" / ".bin" / "cdk"),
        "synth",
        "--quiet",
        "--app",
        f"{ROOT / '.venv' / 'bin' / 'python'} app.py",
        "--output",
        str(project / "cdk.out"),
        "--context",
        f"bundleCacheDir={project / '.cache' / 'bundles'}",
    ]


def measure(workdir: Path, counts: list[int], runs: int) -> list[SynthResult]:
    env = {
        **os.environ,
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "SAGEMAKER_TELEMETRY_OPT_OUT": "true",
        "CDK_DISABLE_VERSION_CHECK": "true",
    }
    results = []
    for count in counts:
        project = project_copy(workdir / f"synth-{count}", count)
        command = synth_command(project)
        cold, warm = [], []
        for _ in range(runs):
            shutil.rmtree(project / "cdk.out", ignore_errors=True)
            shutil.rmtree(project / ".cache", ignore_errors=True)
            cold.append(run(command, cwd=project, env=env, timed_by_child=False))
            warm.append(run(command, cwd=project, env=env, timed_by_child=False))
        stacks = len(list((project / "cdk.out").glob("*.template.json")))
        results.append(SynthResult(count, stacks, Summary.of(cold), Summary.of(warm)))
        shutil.rmtree(project, ignore_errors=True)
    return results


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares seconds per stack."""
    if len(points) < 2:
        return float("nan")
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / var if var else float("nan")
