"""`make deploy-local` over a generated project of N models (`bench.generate`), watched whole.

The real flow (`python -m ops deploy-local --project-root <project>`): a fresh emulator, the CDK
CLI's synth, bootstrap and deploy of every Staging stack, then verify with the smoke test, every
endpoint answering its example request through SageMaker's serving toolkit. The per-step split
is the command's own summary line; CPU time and peak memory are of the whole process tree
(`bench.tree`): the CLI, node, the emulator, TorchServe and its workers.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from bench import generate, tree
from bench.measure import ROOT

TARGET_SECONDS = 120.0
TARGET_PEAK_GB = 8.0
_STEP = re.compile(r"([a-z-]+) ([0-9.]+) s")


@dataclass(frozen=True)
class DeployLocalResult:
    models: int
    sample: tree.TreeSample
    steps: dict[str, float]
    smoke_ok: int
    cpu_steps: dict[str, float]  # CPU seconds of the whole tree during each step


def step_name(command: str) -> str:
    """`cdk deploy Staging-* ...` -> deploy; `python -m ops verify ...` -> verify; the time
    before the first command (the emulator starting) -> emulator."""
    words = command.split()
    if command == "before":
        return "emulator"
    if words[:1] == ["cdk"] and len(words) > 1:
        return words[1]
    return words[3] if words[:3] == ["python", "-m", "ops"] and len(words) > 3 else words[0]


def environment() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "SAGEMAKER_TELEMETRY_OPT_OUT": "true",
        "CDK_DISABLE_VERSION_CHECK": "true",
    }


def steps_of(output: str) -> dict[str, float]:
    """The step split from deploy-local's last line: `deploy-local: synth 5.1 s, ...; total`."""
    lines = [line for line in output.splitlines() if line.startswith("deploy-local: ")]
    if not lines:
        return {}
    split = lines[-1].removeprefix("deploy-local: ").split(";")[0]
    return {name: float(seconds) for name, seconds in _STEP.findall(split)}


def measure(workdir: Path, models: int) -> DeployLocalResult:
    project = workdir / f"deploy-local-{models}"
    generate.generate(models=models, out=project)
    command = [
        sys.executable, "-m", "ops", "deploy-local",
        "--project-root", str(project),
        "--outdir", str(project / "cdk.out"),
        "--state", str(project / "emulator" / "state.json"),
    ]  # fmt: skip
    sample = tree.run(command, cwd=ROOT, env=environment())
    if sample.returncode != 0:
        raise RuntimeError(
            f"deploy-local of {models} models failed:\n{(sample.stdout + sample.stderr)[-4000:]}"
        )
    smoke_ok = sample.stdout.count("| ok (")
    shutil.rmtree(project, ignore_errors=True)
    cpu_steps = {step_name(line): cpu for line, cpu in sample.cpu_by_step}
    return DeployLocalResult(models, sample, steps_of(sample.stdout), smoke_ok, cpu_steps)
