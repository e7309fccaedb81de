"""The emulator's one time scale: AWS durations pass `EMULATOR_TIME_SCALE` times faster here.

A fire drill must show a ten-minute canary bake, two one-minute alarm periods and a rollback in
seconds, without any template changing for it. So every duration the emulator imitates
(CloudWatch alarm periods, SageMaker bake times, termination waits, execution timeouts) is
divided by one factor, read once from `EMULATOR_TIME_SCALE` (default 60: an AWS minute is an
emulator second; `1` runs in real time). Timestamps stay real wall-clock UTC, so metric data
points, alarm history and stack events keep meaning what they say; only the lengths of periods
and waits shrink.

`Clock` is what the metric publisher, the alarm evaluator and the deployment engine receive, so
tests can pass a clock they advance by hand instead of sleeping.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

SCALE_VARIABLE = "EMULATOR_TIME_SCALE"
DEFAULT_SCALE = 60.0


class Clock(Protocol):
    """Wall-clock time plus AWS durations scaled to the emulator's pace."""

    @property
    def scale(self) -> float: ...

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def wait(self, aws_seconds: float, *, stop: threading.Event | None = None) -> bool:
        """Wait what `aws_seconds` of AWS time take here; True if `stop` was set meanwhile."""
        ...


def real_seconds(clock: Clock, aws_seconds: float) -> float:
    """How long `aws_seconds` of AWS time last in the emulator."""
    return aws_seconds / clock.scale


@dataclass(frozen=True)
class ScaledClock:
    """The emulator's clock: real time, AWS durations divided by `scale`."""

    scale: float

    def now(self) -> datetime:
        return datetime.now(UTC)

    def wait(self, aws_seconds: float, *, stop: threading.Event | None = None) -> bool:
        seconds = max(0.0, aws_seconds / self.scale)
        if stop is None:
            time.sleep(seconds)
            return False
        return stop.wait(seconds)


class TimeScaleError(ValueError):
    pass


def scale_from(environ: Mapping[str, str]) -> float:
    """The factor in `EMULATOR_TIME_SCALE`, or the default; a clear error if it is not > 0."""
    text = environ.get(SCALE_VARIABLE, "").strip()
    if not text:
        return DEFAULT_SCALE
    try:
        scale = float(text)
    except ValueError:
        scale = 0.0
    if not scale > 0 or scale == float("inf"):
        raise TimeScaleError(
            f"{SCALE_VARIABLE}={text!r} is not a positive number; "
            "use for example 60 (an AWS minute per emulator second) or 1 (real time)"
        )
    return scale


_clock: ScaledClock | None = None


def emulator_clock() -> ScaledClock:
    """The process's clock, scaled by `EMULATOR_TIME_SCALE` as it was when first asked."""
    global _clock
    if _clock is None:
        _clock = ScaledClock(scale_from(os.environ))
    return _clock
