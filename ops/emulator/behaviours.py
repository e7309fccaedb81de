"""The AWS behaviours the emulator adds to moto: alarm evaluation, alarm history, SNS delivery.

Where `ops.emulator.extensions` makes CloudFormation create what the stacks declare, these
modules make the created things behave: alarms change state and page, SNS delivers. Each module
says which AWS page it follows. `install()` applies them for the emulator's process; `installed()`
for a block, restoring moto afterwards (tests). Unlike the extensions, a behaviour may add an API
action moto lacks (DescribeAlarmHistory); restoring removes it again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

_ABSENT = object()
_installed = False


def _patches() -> list[tuple[object, str, object]]:
    from ops.emulator import alarm_evaluator, delivery

    return alarm_evaluator.patches() + delivery.patches()


def _apply(patches: list[tuple[object, str, object]]) -> list[tuple[object, str, object]]:
    previous = []
    for owner, name, value in patches:
        previous.append((owner, name, vars(owner).get(name, _ABSENT)))
        setattr(owner, name, value)
    return previous[::-1]


def _restore(previous: list[tuple[object, str, object]]) -> None:
    for owner, name, value in previous:
        if value is _ABSENT:
            delattr(owner, name)
        else:
            setattr(owner, name, value)


def install() -> None:
    """Apply every behaviour for the rest of the process (idempotent)."""
    global _installed
    if not _installed:
        _apply(_patches())
        _installed = True


@contextlib.contextmanager
def installed() -> Iterator[None]:
    """Apply every behaviour for the block; moto is as it was afterwards."""
    if _installed:
        yield
        return
    from ops.emulator import alarm_history

    previous = _apply(_patches())
    alarm_history.forget()
    try:
        yield
    finally:
        _restore(previous)
        alarm_history.forget()
