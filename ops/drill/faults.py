"""Faults a drill injects into a model's code, in a copy of the project, never into templates.

`--fault errors=30%` makes the model's handler fail 30 % of its requests (an exception in
`predict_fn`, which SageMaker's inference toolkit answers with HTTP 500, counted by SageMaker as
`Invocation5XXErrors`); `--fault latency=900ms` makes each request take 900 ms longer
(`ModelLatency`). Each fault names the metric whose rollback alarm must catch it.
`--fault drift=2sd` is not a code fault: the model stays as it is and the traffic moves (every
feature shifted by two standard deviations of the baseline data, `ops.drill.shifted`); the
drift alarms (`feature_baseline_drift_<feature>`) must catch it (`ops.drill.drift`).

`prepare_copy` copies `configs/` and `models/` into a folder that `cdk synth -c projectRoot=`
reads, moves the model's entry point aside and writes a wrapper module in its place that
re-exports the original handlers and adds the fault. A wrapper without a fault is the drill's
"good version": the same behaviour in a new bundle, so CloudFormation has something to update.

To add a fault kind: a parser in `KINDS` (the value's text to a `Fault`), the metric it trips,
and the code it adds in `_fault_code`.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ORIGINAL_MODULE = "_drill_original"
DRIFT_METRIC = "feature_baseline_drift_"  # Model Monitor's drift metrics: this, then the feature


class FaultError(ValueError):
    """A `--fault` that is not understood; the message says what would be."""


@dataclass(frozen=True)
class Fault:
    """What the faulty version does wrong.

    Args:
        kind: "errors", "latency" or "drift".
        share: for errors, the fraction of requests that fail (0 < share <= 1).
        seconds: for latency, how much longer each request takes.
        shift: for drift, standard deviations every feature of the traffic moves.
        metric: the SageMaker metric this fault moves, whose rollback alarm must catch it.
    """

    kind: str
    metric: str
    share: float = 0.0
    seconds: float = 0.0
    shift: float = 0.0

    def describe(self) -> str:
        if self.kind == "errors":
            return f"{self.share:.0%} of requests fail (HTTP 500)"
        if self.kind == "drift":
            return f"requests drawn from the baseline data, every feature {self.shift:+g} sd"
        return f"every request takes {self.seconds * 1000:.0f} ms longer"


def _errors(value: str) -> Fault:
    found = re.fullmatch(r"(\d+(?:\.\d+)?)%", value)
    share = float(found.group(1)) / 100 if found else 0.0
    if not found or not 0 < share <= 1:
        raise FaultError(f"errors={value}: give a share of requests, 1%-100%, e.g. errors=30%")
    return Fault("errors", "Invocation5XXErrors", share=share)


def _latency(value: str) -> Fault:
    found = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s)", value)
    if not found or float(found.group(1)) <= 0:
        raise FaultError(f"latency={value}: give a positive duration, e.g. latency=900ms or 2s")
    seconds = float(found.group(1)) / (1000 if found.group(2) == "ms" else 1)
    if seconds > 30:
        raise FaultError(f"latency={value}: at most 30s (requests time out after 60 s)")
    return Fault("latency", "ModelLatency", seconds=seconds)


def _drift(value: str) -> Fault:
    found = re.fullmatch(r"([+-]?\d+(?:\.\d+)?)(sd)?", value)
    shift = float(found.group(1)) if found else 0.0
    if not found or not shift or abs(shift) > 10:
        raise FaultError(
            f"drift={value}: give a shift in standard deviations, non-zero, at most 10, "
            "e.g. drift=2sd or drift=-1.5sd"
        )
    return Fault("drift", DRIFT_METRIC, shift=shift)


KINDS: dict[str, Callable[[str], Fault]] = {
    "errors": _errors,
    "latency": _latency,
    "drift": _drift,
}


def parse_fault(text: str) -> Fault:
    """`errors=30%` or `latency=900ms` as a `Fault`."""
    kind, sep, value = text.partition("=")
    parse = KINDS.get(kind.strip())
    if not sep or parse is None:
        raise FaultError(
            f"unknown fault {text!r}; use one of: errors=<percent> (e.g. errors=30%), "
            "latency=<duration> (e.g. latency=900ms), drift=<shift> (e.g. drift=2sd)"
        )
    return parse(value.strip())


def _fault_code(fault: Fault | None) -> str:
    """The statements that run before each prediction."""
    if fault is None:
        return "    pass  # the good version: no fault\n"
    if fault.kind == "errors":
        # Deterministic spread: request n fails when the running count of failures due grows.
        return (
            "    global _served\n"
            "    _served += 1\n"
            f"    if int(_served * {fault.share!r}) > int((_served - 1) * {fault.share!r}):\n"
            '        raise RuntimeError("drill fault: injected error")\n'
        )
    return f"    time.sleep({fault.seconds!r})\n"


def wrapper_source(*, fault: Fault | None, label: str) -> str:
    """The entry point of the faulty (or good) version: the original handlers, plus the fault."""
    what = fault.describe() if fault else "no fault"
    return f'''"""Fire-drill version of this model ({label}): {what}.

Generated by `python -m ops drill`; the model's own handlers are in {ORIGINAL_MODULE}.py.
"""

import time  # noqa: F401 - used by the latency fault

import {ORIGINAL_MODULE} as _original
from {ORIGINAL_MODULE} import *  # noqa: F403 - model_fn, input_fn, output_fn, ...

_served = 0


def _fault():
{_fault_code(fault)}

if hasattr(_original, "transform_fn"):

    def transform_fn(*args, **kwargs):
        _fault()
        return _original.transform_fn(*args, **kwargs)

else:

    def predict_fn(data, model):
        _fault()
        if hasattr(_original, "predict_fn"):
            return _original.predict_fn(data, model)
        import torch

        with torch.no_grad():
            return model(data)
'''


def prepare_copy(
    *, root: Path, dest: Path, model: str, entry_point: str, fault: Fault | None, label: str
) -> Path:
    """A copy of `root`'s configs/ and models/ at `dest` with the model's entry point wrapped.

    Args:
        entry_point: the model's handler module (its `artifact.entry_point`).
        label: names the version in the wrapper's docstring, so each version is its own bundle.
    """
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("configs", "models"):
        shutil.copytree(root / folder, dest / folder, ignore=ignore)
    code = dest / "models" / model
    handler = code / entry_point
    if not handler.is_file():
        raise FaultError(f"model {model} has no entry point {entry_point} to wrap")
    handler.rename(code / f"{ORIGINAL_MODULE}.py")
    handler.write_text(wrapper_source(fault=fault, label=label))
    return dest
