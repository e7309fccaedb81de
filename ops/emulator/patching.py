"""One way to change moto and undo it: for the extensions and for the behaviours alike.

A change is a patch `(owner, attribute, replacement)`. `Patches` applies a list of them for the
rest of the process (`install()`, the emulator's server) or for a block (`installed()`, tests,
so other tests keep stock moto), restoring in reverse order what was there, including removing
an attribute that did not exist before. Whether a patch may add an attribute is the caller's
rule: the extensions only replace what moto 5.2.5 has (another version fails loudly) unless a
patch says it adds an API action moto lacks (`Addition`); the behaviours may add freely.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

Patch = tuple[object, str, object]

_ABSENT = object()


class Addition:
    """A patch value that adds an attribute the owner does not have (an API action moto lacks),
    allowed even where replacing only is the rule."""

    def __init__(self, value: object) -> None:
        self.value = value


def apply(patches: list[Patch], *, missing: Callable[[object, str], str] | None) -> list[Patch]:
    """Apply the patches; return what they replaced, in reverse order, for `restore`.

    Args:
        missing: if given, an attribute the owner does not have is an error with this message
            (`missing(owner, name)`); if None, the patch adds it.
    """
    previous: list[Patch] = []
    for owner, name, value in patches:
        adds = isinstance(value, Addition)
        if adds and name in vars(owner):
            restore(previous[::-1])
            raise RuntimeError(f"{owner} already has {name}: replace it instead of adding it")
        if missing is not None and not adds and name not in vars(owner):
            restore(previous[::-1])
            raise RuntimeError(missing(owner, name))
        previous.append((owner, name, vars(owner).get(name, _ABSENT)))
        setattr(owner, name, value.value if isinstance(value, Addition) else value)
    return previous[::-1]


def restore(previous: list[Patch]) -> None:
    """Undo `apply`: put back each replaced attribute, remove each added one."""
    for owner, name, value in previous:
        if value is _ABSENT:
            delattr(owner, name)
        else:
            setattr(owner, name, value)


class Patches:
    """A set of patches applied for good or for a block.

    Args:
        build: makes the patch list (late, so importing this module imports no moto).
        missing: see `apply`.
        reset: called before and after a block, to clear state the patches keep.
    """

    def __init__(
        self,
        build: Callable[[], list[Patch]],
        *,
        missing: Callable[[object, str], str] | None = None,
        reset: Callable[[], None] | None = None,
    ) -> None:
        self._build = build
        self._missing = missing
        self._reset = reset or (lambda: None)
        self._installed = False

    def install(self) -> None:
        """Apply the patches for the rest of the process (idempotent)."""
        if not self._installed:
            apply(self._build(), missing=self._missing)
            self._installed = True

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Apply the patches for the block; moto is as it was afterwards."""
        if self._installed:
            yield
            return
        previous = apply(self._build(), missing=self._missing)
        self._reset()
        try:
            yield
        finally:
            restore(previous)
            self._reset()
