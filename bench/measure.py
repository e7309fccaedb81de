"""Measuring one thing in its own process: wall time, CPU time and peak memory.

Each measured operation runs in a fresh child (`python -m bench.measure <kind> <json>`), so
the benchmark's own imports and buffers never count. The child times only the operation (not
its interpreter start-up or imports), wall time and CPU time of all its threads, and prints
one JSON line (commands that are not children, `tar` and `cdk synth`, are charged the CPU
time of their whole process tree); the parent reads the child's
peak RSS from `wait4`, which on Linux is the largest resident set of the child and of every
process it waited for (for `cdk synth`: the CLI, the Python app, or its jsii node runtime).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Sample:
    seconds: float  # wall time of the operation
    # user + system time of the operation on every thread, when the child times it itself
    # (imports and start-up left out, as for `seconds`); else of the whole process tree
    cpu_seconds: float
    peak_rss_mb: float  # largest resident set of one process in the tree
    result: Mapping[str, Any]


def run(
    command: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timed_by_child: bool = True,
) -> Sample:
    """Run `command`; with `timed_by_child`, its last stdout line is JSON with `seconds`."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdout=out,
            stderr=err,
        )
        # wait4, not wait: it also returns the child's resource usage
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({process.returncode}):\n{stderr.decode()[-3000:]}"
        )
    result: dict[str, Any] = {}
    if timed_by_child:
        result = json.loads(stdout.decode().strip().splitlines()[-1])
    return Sample(
        seconds=float(result.get("seconds", elapsed)),
        cpu_seconds=float(result.get("cpu_seconds", usage.ru_utime + usage.ru_stime)),
        peak_rss_mb=usage.ru_maxrss / 1024,  # Linux reports KiB
        result=result,
    )


def child(kind: str, **arguments: Any) -> list[str]:
    """The command that measures `kind` (see `main`) in a fresh interpreter."""
    return [sys.executable, "-m", "bench.measure", kind, json.dumps(arguments)]


@dataclass(frozen=True)
class Summary:
    """Medians over the runs of one measured thing."""

    runs: int
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    result: Mapping[str, Any]

    @classmethod
    def of(cls, samples: Sequence[Sample]) -> Summary:
        return cls(
            runs=len(samples),
            seconds=statistics.median(s.seconds for s in samples),
            cpu_seconds=statistics.median(s.cpu_seconds for s in samples),
            peak_rss_mb=max(s.peak_rss_mb for s in samples),
            result=samples[-1].result,
        )


# --------------------------------------------------------------------------------------------
# The child side: one operation, timed from just before to just after it.
# --------------------------------------------------------------------------------------------


def _timed(operation: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    """Run `operation`; its result, and its wall and CPU seconds (every thread of this process)."""
    started, cpu = time.perf_counter(), time.process_time()
    result = operation()
    return result, {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
    }


def _bundle(model_dir: str, cache_dir: str, weights: list[str]) -> dict[str, Any]:
    from bundler import BundleSpec, build

    spec = BundleSpec(model_dir=Path(model_dir), weights=tuple(weights))
    bundle, timing = _timed(lambda: build(spec, Path(cache_dir)))
    return {**timing, "bytes": bundle.size, "cached": bundle.cached}


def _stage(model_dir: str, cache_dir: str, weights: list[str]) -> dict[str, Any]:
    """The uncompressed path (`artifact.compression: none`): stage the files, no compression."""
    from bundler import BundleSpec
    from bundler.staging import stage

    spec = BundleSpec(model_dir=Path(model_dir), weights=tuple(weights))
    staged, timing = _timed(lambda: stage(spec, Path(cache_dir)))
    return {**timing, "bytes": staged.size, "cached": staged.cached}


def _sdk_tar(sources: list[str], target: str) -> dict[str, Any]:
    os.environ.setdefault("SAGEMAKER_TELEMETRY_OPT_OUT", "true")
    from sagemaker.core.common_utils import create_tar_file

    _, timing = _timed(lambda: create_tar_file(sources, target=target))
    return {**timing, "bytes": Path(target).stat().st_size}


KINDS: dict[str, Callable[..., dict[str, Any]]] = {
    "bundle": _bundle,
    "stage": _stage,
    "sdk-tar": _sdk_tar,
}


def main(argv: Sequence[str]) -> int:
    kind, arguments = argv[0], json.loads(argv[1])
    print(json.dumps(KINDS[kind](**arguments)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
