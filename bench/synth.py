"""`cdk synth` (the real CLI) of a project copy with N generated models x every environment.

The copy holds the project's code and configs and N copies of the example model (tiny
weights), so the figures show the per-stack cost of synth itself, not of compression:
cold = empty bundle cache and cloud assembly; warm = the same synth again, nothing changed.
Two CDK baselines (`bench/baseline_app.py`) synthesize as many stacks through the same CLI:
with one resource each (what the CDK costs per stack), and with the project's own templates
included as they are (what the CDK costs per stack of the project's size, nothing built
construct by construct).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from bench.measure import ROOT, Summary, run

CODE = ("app.py", "cdk.json", "stacks", "bundler", "configs", "ops")
EXAMPLE = "iris"


BASELINE_APP = ROOT / "bench" / "baseline_app.py"


@dataclass(frozen=True)
class SynthResult:
    models: int
    stacks: int
    cold: Summary
    warm: Summary
    templates: Path | None = None  # the 1-model copy's templates, kept for the baselines


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


def baseline_command(outdir: Path, models: int, templates: Path | None = None) -> list[str]:
    context = ["--context", f"templates={templates}"] if templates else []
    return [
        str(ROOT / "node_modules" / ".bin" / "cdk"),
        "synth",
        "--quiet",
        "--app",
        f"{ROOT / '.venv' / 'bin' / 'python'} {BASELINE_APP}",
        "--output",
        str(outdir),
        "--context",
        f"models={models}",
        *context,
    ]


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "SAGEMAKER_TELEMETRY_OPT_OUT": "true",
        "CDK_DISABLE_VERSION_CHECK": "true",
    }


def measure_baseline(
    workdir: Path, counts: list[int], runs: int, templates: Path | None = None
) -> list[tuple[int, Summary]]:
    """(models, summary) of a CDK baseline synth at each count, the assembly kept between
    runs (as for a warm project synth); with `templates`, each stack includes one of them."""
    results = []
    for count in counts:
        outdir = workdir / f"baseline-{count}"
        shutil.rmtree(outdir, ignore_errors=True)
        command = baseline_command(outdir, count, templates)
        samples = [run(command, cwd=workdir, env=_env(), timed_by_child=False) for _ in range(runs)]
        stacks = len(list(outdir.glob("*.template.json")))
        if stacks != 2 * count:
            raise RuntimeError(f"the baseline synthesized {stacks} stacks, not {2 * count}")
        results.append((count, Summary.of(samples)))
        shutil.rmtree(outdir, ignore_errors=True)
    return results


def measure(workdir: Path, counts: list[int], runs: int) -> list[SynthResult]:
    env = _env()
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
        templates = None
        if count == 1:
            templates = workdir / "templates-1"
            shutil.rmtree(templates, ignore_errors=True)
            templates.mkdir()
            for template in (project / "cdk.out").glob("*.template.json"):
                shutil.copy2(template, templates / template.name)
        results.append(SynthResult(count, stacks, Summary.of(cold), Summary.of(warm), templates))
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
