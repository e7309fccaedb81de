"""Writes a byte-reproducible model.tar.gz, fast.

Reproducible: entries sorted by name, mtime/uid/gid 0, empty owner names, modes normalised to
0644/0755, PAX format, and a gzip header with no time and no file name. The same files give the
same bytes on any machine, whatever their mtimes, owners or order on disk.

Fast: python-isal's threaded gzip compresses 4 MiB blocks on every core (each block primed with
the previous 32 KiB, so the ratio stays close to single-stream deflate). Its output depends on the
level and block size, not on the thread count. Without isal the stdlib's gzip is used, which gives
different (still reproducible) bytes; the compressor's name is part of the cache key.

The tar stream is the one tarfile writes in stream mode (its own PAX header encoder, data padded
to 512 bytes, two zero blocks and a 10 KiB record at the end), cut into the same 4 MiB pieces,
but file contents are read straight into the piece being filled: tarfile's stream writer
concatenates and slices `bytes` objects, about five passes over every byte (0.58 CPU-s of
1.33 for 500 MB of weights), where this makes one. The archive bytes are the same.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from collections.abc import Sequence
from typing import IO, Any

from bundler.layout import BundleError, Entry

# 4 MiB: a quarter of the hand-offs between threads of 1 MiB blocks, ~15% less CPU per byte and
# a slightly smaller archive; changing it changes the bytes (and the cache key, via COMPRESSOR).
BLOCK_SIZE = 4 << 20
ISAL_LEVEL = 2  # isal's 0-3; 2 is within 1% of zlib -9 on weights at ~20x the speed

try:
    from isal import igzip_threaded

    COMPRESSOR = f"isal-threaded-l{ISAL_LEVEL}-b{BLOCK_SIZE}"
except ImportError:  # pragma: no cover - isal is a pinned dependency
    igzip_threaded = None  # type: ignore[assignment]
    COMPRESSOR = "stdlib-gzip-l6"


class HashingWriter:
    """A write-only file object that hashes and counts what passes through it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: Any) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()

    # tarfile and the compressors probe for these
    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    @property
    def closed(self) -> bool:
        return self.raw.closed

    def close(self) -> None:  # the caller owns `raw`
        pass


def _open_gzip(out: HashingWriter, threads: int) -> IO[bytes]:
    if igzip_threaded is not None:
        stream: IO[bytes] = igzip_threaded.open(  # type: ignore[no-untyped-call]
            out, "wb", compresslevel=ISAL_LEVEL, threads=max(1, threads), block_size=BLOCK_SIZE
        )
        return stream
    import gzip  # pragma: no cover

    return gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=6, mtime=0)


def _info(
    name: str, *, size: int = 0, directory: bool = False, executable: bool = False
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if directory:
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
    else:
        info.type = tarfile.REGTYPE
        info.mode = 0o755 if executable else 0o644
    return info


def _directories(entries: Sequence[Entry]) -> list[str]:
    seen: set[str] = set()
    for entry in entries:
        parts = entry.arcname.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            seen.add("/".join(parts[:depth]))
    return sorted(seen)


class _TarStream:
    """A tar stream handed to `sink` in BLOCK_SIZE pieces, as tarfile's `w|` mode writes it.

    One piece is filled at a time: headers and padding are copied in, file contents are read
    into it directly. The sink copies each piece before `write` returns (isal's writer makes an
    immutable block of it), so the same buffer is filled again.
    """

    def __init__(self, sink: IO[bytes]) -> None:
        self._sink = sink
        self._piece = bytearray(BLOCK_SIZE)
        self._view = memoryview(self._piece)
        self._filled = 0
        self._offset = 0

    def add(self, info: tarfile.TarInfo, source: io.RawIOBase | None = None) -> None:
        """A member: its header, then (for a file) `info.size` bytes of `source` and padding.

        Raises:
            EOFError: `source` ended before `info.size` bytes.
        """
        self._write(info.tobuf(tarfile.PAX_FORMAT, tarfile.ENCODING, "surrogateescape"))
        if source is None:
            return
        remaining = info.size
        while remaining:
            room = min(remaining, BLOCK_SIZE - self._filled)
            read = source.readinto(self._view[self._filled : self._filled + room])
            if not read:
                raise EOFError(f"{remaining} bytes short")
            self._advance(read)
            remaining -= read
        self._write(bytes(-info.size % tarfile.BLOCKSIZE))

    def close(self) -> None:
        """The end-of-archive marker and record padding, then the last, partial piece."""
        self._write(bytes(2 * tarfile.BLOCKSIZE))
        self._write(bytes(-self._offset % tarfile.RECORDSIZE))
        if self._filled:
            self._sink.write(self._view[: self._filled])
            self._filled = 0

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            room = min(len(view), BLOCK_SIZE - self._filled)
            self._view[self._filled : self._filled + room] = view[:room]
            self._advance(room)
            view = view[room:]

    def _advance(self, count: int) -> None:
        self._filled += count
        self._offset += count
        if self._filled == BLOCK_SIZE:
            self._sink.write(self._piece)
            self._filled = 0


def write_archive(
    entries: Sequence[Entry],
    raw: IO[bytes],
    *,
    stats: dict[str, os.stat_result] | None = None,
    threads: int | None = None,
) -> tuple[str, int]:
    """Write the archive to `raw`; return (sha256 hex, size in bytes) of the compressed bytes.

    Args:
        entries: files in archive order (see `layout.collect`).
        raw: a binary file opened for writing.
        stats: the stat of each source taken when its digest was computed; a file whose size or
            mtime differs afterwards changed while being bundled, and the build fails.
        threads: compression threads; defaults to every core.
    """
    out = HashingWriter(raw)
    members = sorted(
        [(name + "/", None) for name in _directories(entries)]
        + [(entry.arcname, entry) for entry in entries],
        key=lambda pair: pair[0],
    )
    gz = _open_gzip(out, threads or os.cpu_count() or 1)
    try:
        tar = _TarStream(gz)
        for name, entry in members:
            if entry is None:
                tar.add(_info(name.rstrip("/"), directory=True))
                continue
            with entry.source.open("rb", buffering=0) as source:
                before = os.fstat(source.fileno())
                expected = stats.get(entry.arcname) if stats else None
                if expected is not None and _changed(expected, before):
                    raise BundleError(
                        f"{entry.source}: changed while being bundled; "
                        "build again once it is written"
                    )
                info = _info(entry.arcname, size=before.st_size, executable=entry.executable)
                try:
                    tar.add(info, source)
                except EOFError as error:
                    raise BundleError(
                        f"{entry.source}: shrank while being bundled; "
                        "build again once it is written"
                    ) from error
                if _changed(before, entry.source.stat()):
                    raise BundleError(
                        f"{entry.source}: changed while being bundled; "
                        "build again once it is written"
                    )
        tar.close()
    finally:
        gz.close()
    return out.digest.hexdigest(), out.size


def _changed(before: os.stat_result, after: os.stat_result) -> bool:
    return (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns)
