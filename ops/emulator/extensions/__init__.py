"""The project's extensions to moto 5.2.5, applied in the emulator's process before it serves.

`install()` applies them for good (the emulator's server process); `installed()` applies them
for a block and restores moto afterwards (tests, so other tests keep stock moto). Every
extension is pinned to moto's internals at the version in `pyproject.toml` and covered by
`tests/unit/test_emulator.py`; another moto version makes both refuse to start instead of silently
deploying less.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
from collections.abc import Iterator

from ops.emulator.patching import Patch, Patches

MOTO_VERSION = "5.2.5"


def _patches() -> list[Patch]:
    found = importlib.metadata.version("moto")
    if found != MOTO_VERSION:
        raise RuntimeError(
            f"the emulator's extensions are written against moto {MOTO_VERSION}, found {found}; "
            "re-check ops/emulator/extensions against the new version and update the pin"
        )
    from ops.emulator.extensions import (
        change_sets,
        cloudformation,
        cloudtrail,
        registry_policy,
        runtime,
    )

    return (
        cloudformation.patches()
        + change_sets.patches()
        + runtime.patches()
        + cloudtrail.patches()
        + registry_policy.patches()
    )


def _missing(owner: object, name: str) -> str:
    return f"moto {MOTO_VERSION} has no {name} on {owner} to extend"


_extensions = Patches(_patches, missing=_missing)


def install() -> None:
    """Apply every extension for the rest of the process (idempotent)."""
    _extensions.install()


@contextlib.contextmanager
def installed() -> Iterator[None]:
    """Apply every extension for the block; moto is as it was afterwards."""
    with _extensions.installed():
        yield
