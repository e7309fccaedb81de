"""Build a model bundle through a content-addressed cache.

The cache key is a sha256 over the bundler's format version, the compressor, and every entry's
archive name, mode, size and content digest, so any changed input byte gives a new key and an
unchanged model is never packed twice. Content digests are remembered per file by (device, inode,
size, mtime, ctime), as git's index does, so a warm synth does not re-read large weights either.

Archives are written to a temporary file in the cache directory and renamed into place only when
complete, with their metadata written last: an interrupted build leaves no entry to be reused,
and its temporary file is removed by the next build (see `bundler.partials`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bundler import partials
from bundler.archive import COMPRESSOR, write_archive
from bundler.layout import BundleError, BundleSpec, Entry, collect

FORMAT_VERSION = 1
READ_CHUNK = 4 << 20
# Unknown files up to this many bytes are hashed before deciding whether to build.
PREHASH_LIMIT = 64 << 20
DIGESTS = "digests.json"
# Memo value for a large file first seen by an archive pass: the archive's sha256 stands for it.
ARCHIVE_IDENTITY = "archive:"


@dataclass(frozen=True)
class Bundle:
    """A built model.tar.gz."""

    path: Path
    sha256: str
    size: int
    files: int
    cached: bool


def build(spec: BundleSpec, cache_dir: Path) -> Bundle:
    """Return the bundle for `spec`, building it only when no cached copy matches.

    Files the digest memo does not know must be read to find the key. When they are small
    they are hashed first. When they are large (new or retrained weights) they are not hashed
    at all: the archive that packs them identifies their content (its bytes are a function of
    every input byte), so the memo records them as `archive:<archive sha256>` and a cold build
    reads and hashes nothing twice. Such an identity never matches other content; the same
    content may get a second identity (after a touch, say), which costs a rebuild, never a
    wrong hit. The price: a large file touched without changing its bytes costs one
    compression instead of one hash.
    """
    entries = collect(spec)
    _prepare(cache_dir)
    memo = _DigestMemo(cache_dir / DIGESTS)
    stats = {entry.arcname: entry.source.stat() for entry in entries}
    known = {e.arcname: memo.lookup(e.source, stats[e.arcname]) for e in entries}
    unknown_bytes = sum(stats[name].st_size for name, digest in known.items() if digest is None)
    if unknown_bytes <= PREHASH_LIMIT:
        for entry in entries:
            if known[entry.arcname] is None:
                known[entry.arcname] = memo.record(
                    entry.source, stats[entry.arcname], file_sha256(entry.source)
                )
        memo.save()

    if all(digest is not None for digest in known.values()):
        key = cache_key(entries, [str(known[e.arcname]) for e in entries])
        cached = _cached(cache_dir, key, len(entries))
        if cached is not None:
            return cached
        return _write(spec, entries, stats, cache_dir, key, memo=None)
    return _write(spec, entries, stats, cache_dir, None, memo=memo, known=known)


def _cached(cache_dir: Path, key: str, files: int) -> Bundle | None:
    archive = cache_dir / f"{key}.tar.gz"
    meta = _read_meta(cache_dir / f"{key}.json")
    if meta is not None and archive.is_file() and archive.stat().st_size == meta["size"]:
        return Bundle(archive, meta["sha256"], meta["size"], files, cached=True)
    return None


def _write(
    spec: BundleSpec,
    entries: Sequence[Entry],
    stats: dict[str, os.stat_result],
    cache_dir: Path,
    key: str | None,
    *,
    memo: _DigestMemo | None,
    known: dict[str, str | None] | None = None,
) -> Bundle:
    """Write the archive; with no `key`, find it from the archive: files `known` has no digest
    for are identified by the archive's sha256."""
    try:
        with partials.held(cache_dir, ".bundle.") as tmp:
            return _write_locked(entries, stats, cache_dir, key, tmp, memo=memo, known=known)
    except OSError as error:
        raise BundleError(
            f"{spec.model_dir}: cannot write the bundle to {cache_dir} ({error.strerror or error})"
        ) from error


def _write_locked(
    entries: Sequence[Entry],
    stats: dict[str, os.stat_result],
    cache_dir: Path,
    key: str | None,
    tmp: Path,
    *,
    memo: _DigestMemo | None,
    known: dict[str, str | None] | None,
) -> Bundle:
    with tmp.open("wb") as raw:
        sha256, size = write_archive(entries, raw, stats=stats)
        raw.flush()
        os.fsync(raw.fileno())
    if key is None and memo is not None:
        identity = f"{ARCHIVE_IDENTITY}{sha256}"
        digests = [
            (known or {}).get(e.arcname) or memo.record(e.source, stats[e.arcname], identity)
            for e in entries
        ]
        memo.save()
        key = cache_key(entries, digests)
        cached = _cached(cache_dir, key, len(entries))
        if cached is not None:  # touched, not changed: the archive is already there
            return cached
    assert key is not None
    tmp.replace(cache_dir / f"{key}.tar.gz")
    _write_atomic(
        cache_dir / f"{key}.json",
        json.dumps(
            {
                "sha256": sha256,
                "size": size,
                "compressor": COMPRESSOR,
                "format": FORMAT_VERSION,
                "files": len(entries),
            },
            indent=1,
        ).encode(),
    )
    return Bundle(cache_dir / f"{key}.tar.gz", sha256, size, len(entries), cached=False)


def cache_key(entries: Sequence[Entry], digests: Sequence[str]) -> str:
    key = hashlib.sha256(f"bundler-format:{FORMAT_VERSION}\ncompressor:{COMPRESSOR}\n".encode())
    for entry, digest in zip(entries, digests, strict=True):
        mode = "755" if entry.executable else "644"
        key.update(f"{entry.arcname}\0{mode}\0{digest}\n".encode())
    return key.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _prepare(cache_dir: Path) -> None:
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BundleError(f"cannot create the bundle cache {cache_dir} ({error.strerror})") from (
            error
        )
    if not os.access(cache_dir, os.W_OK | os.X_OK):
        raise BundleError(
            f"the bundle cache {cache_dir} is not writable; fix its permissions "
            "or point the cache elsewhere"
        )
    try:
        partials.sweep(cache_dir)
    except OSError as error:
        raise BundleError(f"cannot use the bundle cache {cache_dir} ({error.strerror})") from error


def _read_meta(path: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
        return None
    return meta


def _write_atomic(path: Path, data: bytes) -> None:
    with partials.held(path.parent, f".{path.name}.") as tmp:
        with tmp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)


class _DigestMemo:
    """sha256 of files, remembered while their stat says they are unchanged."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.changed = False
        try:
            loaded = json.loads(path.read_bytes())
            self.known: dict[str, list[Any]] = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            self.known = {}

    def lookup(self, source: Path, st: os.stat_result) -> str | None:
        known = self.known.get(str(source))
        if known is not None and known[:5] == self._stamp(st):
            return str(known[5])
        return None

    def record(self, source: Path, st: os.stat_result, digest: str) -> str:
        self.known[str(source)] = [*self._stamp(st), digest]
        self.changed = True
        return digest

    @staticmethod
    def _stamp(st: os.stat_result) -> list[int]:
        return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]

    def save(self) -> None:
        if self.changed:
            with contextlib.suppress(OSError):  # the memo only saves time; losing it is fine
                _write_atomic(self.path, json.dumps(self.known, sort_keys=True).encode())
