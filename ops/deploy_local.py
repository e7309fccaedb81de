"""Deploy `Staging-*` to the local emulator with the real CDK CLI, verify, invoke, summarise.

Steps (each timed): start the emulator (or reuse one left running), `cdk synth` with the local
account/region override into its own cloud assembly, `cdk bootstrap`, `cdk deploy 'Staging-*'`,
then verify and smoke-test every deployed stack. The emulator is stopped at the end whatever
happens, unless `--keep` (then `python -m ops emulator stop` stops it).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import ops.emulator as emulator

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTDIR = ROOT / ".cache" / "deploy-local" / "cdk.out"
STACKS = "Staging-*"

T = TypeVar("T")


class StepFailed(Exception):
    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"{step} failed: {detail}")
        self.step = step


@dataclass
class Timings:
    steps: dict[str, float] = field(default_factory=dict)

    def time(self, name: str, action: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return action()
        finally:
            self.steps[name] = self.steps.get(name, 0.0) + time.perf_counter() - started

    def render(self) -> str:
        parts = [f"{name} {seconds:.1f} s" for name, seconds in self.steps.items()]
        return ", ".join(parts) + f"; total {sum(self.steps.values()):.1f} s"


def cdk_environment(url: str) -> dict[str, str]:
    """The process environment for the CDK CLI and boto3 against the emulator at `url`."""
    return {
        **os.environ,
        **emulator.client_environment(url),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "SAGEMAKER_TELEMETRY_OPT_OUT": "true",
        "CDK_DISABLE_VERSION_CHECK": "1",
    }


def _cdk_output(result: subprocess.CompletedProcess[str]) -> str:
    noise = ("NodeVersionSupportWarning", "node >=22", "upgrade to node", "a.co/", "--trace-")
    lines = (result.stdout + result.stderr).splitlines()
    return "\n".join(line for line in lines if not any(n in line for n in noise)).strip()


def cdk(
    args: Sequence[str], env: Mapping[str, str], *, step: str, echo: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run `npx cdk <args>` in the project root; raise StepFailed with its output on failure."""
    command = ["npx", "--no-install", "cdk", *args]
    if echo:
        print(f"$ {' '.join(command[2:])}", flush=True)
    result = subprocess.run(
        command, cwd=ROOT, env=dict(env), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise StepFailed(step, _cdk_output(result))
    return result


def synth(
    env: Mapping[str, str],
    outdir: Path,
    *,
    project_root: Path | None = None,
    stacks: str | None = None,
) -> None:
    """`cdk synth` for the local target; `stacks` builds only the stacks matching the pattern."""
    context = [
        "-c",
        f"targetAccount={emulator.LOCAL_ACCOUNT}",
        "-c",
        f"targetRegion={emulator.LOCAL_REGION}",
    ]
    if project_root is not None:
        context += ["-c", f"projectRoot={project_root}"]
    if stacks is not None:
        context += ["-c", f"stacks={stacks}"]
    cdk(["synth", "--quiet", "--output", str(outdir), *context], env, step="synth")


def bootstrap(env: Mapping[str, str], outdir: Path) -> None:
    target = f"aws://{emulator.LOCAL_ACCOUNT}/{emulator.LOCAL_REGION}"
    cdk(["bootstrap", target, "--app", str(outdir)], env, step="bootstrap")


def deploy(env: Mapping[str, str], outdir: Path, *, stacks: str | Sequence[str] = STACKS) -> str:
    result = cdk(
        [
            "deploy",
            *([stacks] if isinstance(stacks, str) else stacks),
            "--app",
            str(outdir),
            "--require-approval",
            "never",
            "--concurrency",
            "4",
            "--progress",
            "events",
        ],
        env,
        step="deploy",
    )
    return _cdk_output(result)


def destroy(env: Mapping[str, str], outdir: Path, *, stacks: str = STACKS) -> None:
    cdk(["destroy", stacks, "--app", str(outdir), "--force"], env, step="destroy")


def verify(
    env: Mapping[str, str],
    outdir: Path,
    *,
    stacks: str = STACKS,
    smoke: bool = True,
    project_root: Path | None = None,
) -> str:
    """`python -m ops verify` (the same verifier and smoke test the deploy workflow runs)."""
    command = [sys.executable, "-m", "ops", "verify", "--assembly", str(outdir), "--stacks", stacks]
    command += ["--root", str(project_root or ROOT)]
    if smoke:
        command.append("--smoke")
    print(f"$ python -m ops verify --stacks {stacks}{' --smoke' if smoke else ''}", flush=True)
    result = subprocess.run(
        command, cwd=ROOT, env=dict(env), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise StepFailed("verify", (result.stdout + result.stderr).strip())
    return result.stdout


def deploy_local(
    *,
    state_file: Path,
    outdir: Path,
    project_root: Path | None = None,
    keep: bool = False,
    smoke: bool = True,
    timings: Timings | None = None,
) -> Timings:
    """The whole flow; the emulator is stopped at the end unless `keep` or it was reused."""
    timings = timings if timings is not None else Timings()
    existing = emulator.status(state_file)
    if existing is not None:
        print(f"using the emulator already running at {existing.url}")
        handle = existing
    else:
        handle = timings.time("emulator", lambda: emulator.start(state_file))
        print(f"emulator: {handle.url} (pid {handle.pid})")
    try:
        env = cdk_environment(handle.url)
        # only the stacks it deploys: the other environments' stacks are not built or bundled
        timings.time("synth", lambda: synth(env, outdir, project_root=project_root, stacks=STACKS))
        timings.time("bootstrap", lambda: bootstrap(env, outdir))
        output = timings.time("deploy", lambda: deploy(env, outdir))
        print(
            "\n".join(
                line for line in output.splitlines() if line.startswith("✅") or " = " in line
            )
        )
        print(
            timings.time(
                "verify", lambda: verify(env, outdir, smoke=smoke, project_root=project_root)
            ),
            end="",
        )
    finally:
        if keep or existing is not None:
            print(
                f"\nthe emulator keeps running at {handle.url}; "
                "stop it with `python -m ops emulator stop` (or `make emulator-stop`)"
            )
        else:
            emulator.stop(state_file)
    return timings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--keep", action="store_true", help="leave the emulator running afterwards")
    parser.add_argument(
        "--no-smoke", dest="smoke", action="store_false", help="skip invoking the endpoints"
    )
    parser.add_argument(
        "--outdir", type=Path, default=DEFAULT_OUTDIR, help="cloud assembly for the local target"
    )
    parser.add_argument(
        "--project-root",
        type=Path,
        default=None,
        help="folder with configs/ and models/ (default: this repository)",
    )
    parser.add_argument(
        "--state", type=Path, default=emulator.DEFAULT_STATE, help=argparse.SUPPRESS
    )


def run(args: argparse.Namespace) -> int:
    timings = Timings()
    try:
        deploy_local(
            state_file=args.state,
            outdir=args.outdir,
            project_root=args.project_root,
            keep=args.keep,
            smoke=args.smoke,
            timings=timings,
        )
    except (StepFailed, emulator.EmulatorError) as error:
        print(f"\ndeploy-local: {error}", file=sys.stderr)
        return 1
    finally:
        print(f"\ndeploy-local: {timings.render()}")
    return 0
