"""Temporary files and folders in the bundle cache, and sweeping the ones a dead build left.

A build creates each partial file or folder while holding an exclusive lock on it, and keeps the
lock until the partial is renamed into place or removed. The kernel drops the lock when the
process ends, however it ends (SIGKILL, power loss), so a partial that nobody holds can never be
completed and is removed by the next build's sweep. No clock is read, and nothing still being
written is touched. A cache-wide lock makes "create and lock" atomic with respect to a sweep.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

SUFFIX = ".partial"
GUARD = ".lock"


@contextlib.contextmanager
def held(directory: Path, prefix: str, *, folder: bool = False) -> Iterator[Path]:
    """A new partial file (or folder) in `directory`, locked for the duration of the block.

    The caller writes it and renames it into place inside the block; whatever is still at the
    path when the block ends is removed.
    """
    with _guard(directory, fcntl.LOCK_SH):
        if folder:
            path = Path(tempfile.mkdtemp(prefix=prefix, suffix=SUFFIX, dir=directory))
        else:
            fd, name = tempfile.mkstemp(prefix=prefix, suffix=SUFFIX, dir=directory)
            os.close(fd)
            path = Path(name)
        lock = os.open(path, os.O_RDONLY)
        fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        yield path
    finally:
        try:
            _remove(path)
        finally:
            os.close(lock)


def sweep(directory: Path) -> int:
    """Remove the partials in `directory` that no live process holds; return how many."""
    removed = 0
    with _guard(directory, fcntl.LOCK_EX):
        for partial in directory.glob(f".*{SUFFIX}"):
            try:
                fd = os.open(partial, os.O_RDONLY)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue  # held: a build is writing it right now
            try:
                _remove(partial)
                removed += 1
            finally:
                os.close(fd)
    return removed


@contextlib.contextmanager
def _guard(directory: Path, mode: int) -> Iterator[None]:
    fd = os.open(directory / GUARD, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, mode)
        yield
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
