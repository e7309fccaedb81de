"""The AWS behaviours the emulator adds to moto: alarm evaluation, alarm history, SNS delivery,
percentile statistics.

Where `ops.emulator.extensions` makes CloudFormation create what the stacks declare, these
modules make the created things behave: alarms change state and page, SNS delivers. Each module
says which AWS page it follows. `install()` applies them for the emulator's process; `installed()`
for a block, restoring moto afterwards (tests). Unlike the extensions, a behaviour may add an API
action moto lacks (DescribeAlarmHistory); restoring removes it again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ops.emulator.patching import Patch, Patches


def _patches() -> list[Patch]:
    from ops.emulator import alarm_evaluator, delivery, statistics

    return alarm_evaluator.patches() + delivery.patches() + statistics.patches()


def _forget_history() -> None:
    from ops.emulator import alarm_history

    alarm_history.forget()


_behaviours = Patches(_patches, reset=_forget_history)


def install() -> None:
    """Apply every behaviour for the rest of the process (idempotent)."""
    _behaviours.install()


@contextlib.contextmanager
def installed() -> Iterator[None]:
    """Apply every behaviour for the block; moto is as it was afterwards."""
    with _behaviours.installed():
        yield
