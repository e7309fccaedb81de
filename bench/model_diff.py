"""What the PR diff's model section adds to `make diff` for the two example models.

A copy of the project is synthesized twice with the real CLI: as it is (the base) and with both
example models' weights changed (the head: every weight nudged by seeded noise, standing in for
a retrained model, so both bundles are new and both models are evaluated). `python -m ops diff`
then runs on the two assemblies without the model section and with it (`--project`, as
`make diff` passes it); the difference is what the section costs: extracting four bundles,
starting four evaluation processes in .venv-serve (a model's base and head side by side) and
answering each evaluation set twice.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.measure import ROOT, Summary, run

CODE = ("app.py", "cdk.json", "stacks", "bundler", "configs", "ops")
MODELS = ("iris", "digits")
TARGET_SECONDS = 30.0


@dataclass(frozen=True)
class ModelDiffResult:
    without: Summary  # ops diff, templates only
    with_models: Summary  # ops diff with the model section

    @property
    def added(self) -> float:
        return self.with_models.seconds - self.without.seconds


def _copy(target: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "cdk.out")
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in (*CODE, "models"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)
    return target


def _nudge(weights: Path, *, seed: int) -> None:
    """New weights of the same shape: every float tensor plus 5% seeded noise."""
    import torch  # only this scenario needs it; the rest of the benchmark starts faster

    saved = torch.load(weights, map_location="cpu", weights_only=True)
    generator = torch.Generator().manual_seed(seed)
    state = {
        name: value
        + 0.05 * value.std().nan_to_num() * torch.randn(value.shape, generator=generator)
        if value.is_floating_point() and value.numel() > 1
        else value
        for name, value in saved["state_dict"].items()
    }
    torch.save({**saved, "state_dict": state}, weights)


def _synth(project: Path) -> Path:
    command = [
        str(ROOT / "node_modules" / ".bin" / "cdk"), "synth", "--quiet",
        "--app", f"{ROOT / '.venv' / 'bin' / 'python'} app.py",
        "--output", str(project / "cdk.out"),
        "--context", f"bundleCacheDir={project.parent / 'bundles'}",
    ]  # fmt: skip
    run(command, cwd=project, env=_env(), timed_by_child=False)
    return project / "cdk.out"


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "SAGEMAKER_TELEMETRY_OPT_OUT": "true",
        "CDK_DISABLE_VERSION_CHECK": "true",
    }


def measure(workdir: Path, runs: int) -> ModelDiffResult:
    base = _copy(workdir / "model-diff" / "base")
    head = _copy(workdir / "model-diff" / "head")
    for seed, model in enumerate(MODELS, start=1):
        _nudge(head / "models" / model / "model.pt", seed=seed)
    base_out, head_out = _synth(base), _synth(head)
    diff = [sys.executable, "-m", "ops", "diff", "--base", str(base_out), "--head", str(head_out)]
    diff += ["--output", str(workdir / "model-diff" / "diff.md")]
    models = ["--project", str(head), "--base-project", str(base)]
    without = [run(diff, cwd=ROOT, env=_env(), timed_by_child=False) for _ in range(runs)]
    with_models = [
        run([*diff, *models], cwd=ROOT, env=_env(), timed_by_child=False) for _ in range(runs)
    ]
    markdown = (workdir / "model-diff" / "diff.md").read_text()
    if not all(f"#### `{model}`: new model version" in markdown for model in MODELS):
        raise RuntimeError(f"the model section does not show both models:\n{markdown[:3000]}")
    shutil.rmtree(workdir / "model-diff", ignore_errors=True)
    return ModelDiffResult(Summary.of(without), Summary.of(with_models))
