"""A model's bundle as a directory of files, for deploying without compression.

Large models can be served uncompressed (config `artifact.compression: none`): SageMaker copies
the files under one S3 prefix instead of downloading and extracting model.tar.gz. The directory
holds exactly what the archive would (same layout: weights at the top, code under code/, modes
0644/0755) and is staged once per content in the bundle cache as `<key>.dir/`, where `key` is a
sha256 over the entries' names, modes and content digests. No byte is compressed: a cold stage
is one read and one write of each file, with the content hash taken from the same read.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from bundler import partials
from bundler.cache import DIGESTS, READ_CHUNK, Bundle, _DigestMemo, _prepare, cache_key
from bundler.layout import BundleError, BundleSpec, Entry, collect

STAGED_SUFFIX = ".dir"
MANIFEST = ".staged.json"  # inside the cache entry, not part of the uploaded files


def stage(spec: BundleSpec, cache_dir: Path) -> Bundle:
    """Return the staged directory for `spec` (a `Bundle` whose path is a directory).

    `sha256` is the content key (not a digest of any single file); `size` is the sum of the
    files' sizes, what the endpoint's instances download.
    """
    entries = collect(spec)
    _prepare(cache_dir)
    memo = _DigestMemo(cache_dir / DIGESTS)
    stats = {entry.arcname: entry.source.stat() for entry in entries}
    known = {e.arcname: memo.lookup(e.source, stats[e.arcname]) for e in entries}
    size = sum(st.st_size for st in stats.values())
    if all(digest is not None for digest in known.values()):
        key = _key(entries, [str(known[e.arcname]) for e in entries])
        target = cache_dir / f"{key}{STAGED_SUFFIX}"
        if _complete(target, len(entries), size):
            return Bundle(target, key, size, len(entries), cached=True)

    try:
        with partials.held(cache_dir, ".stage.", folder=True) as tmp:
            return _stage_locked(entries, stats, known, memo, size, cache_dir, tmp)
    except OSError as error:
        raise BundleError(
            f"{spec.model_dir}: cannot stage the model files in {cache_dir} "
            f"({error.strerror or error})"
        ) from error


def _stage_locked(
    entries: Sequence[Entry],
    stats: dict[str, os.stat_result],
    known: dict[str, str | None],
    memo: _DigestMemo,
    size: int,
    cache_dir: Path,
    tmp: Path,
) -> Bundle:
    copied = [_copy(entry, tmp / entry.arcname, stats[entry.arcname]) for entry in entries]
    # What the memo already knows stands (it may be an archive's identity, which the
    # archive's own cache key uses); only new files are recorded, with their sha256.
    digests = [
        known[entry.arcname] or memo.record(entry.source, stats[entry.arcname], digest)
        for entry, digest in zip(entries, copied, strict=True)
    ]
    memo.save()
    key = _key(entries, digests)
    target = cache_dir / f"{key}{STAGED_SUFFIX}"
    if _complete(target, len(entries), size):  # touched, not changed
        return Bundle(target, key, size, len(entries), cached=True)
    shutil.rmtree(target, ignore_errors=True)  # an incomplete leftover
    (tmp / MANIFEST).write_text(json.dumps({"files": len(entries), "bytes": size}))
    tmp.rename(target)
    return Bundle(target, key, size, len(entries), cached=False)


def files(staged: Path) -> list[Path]:
    """The files to upload from a staged directory, sorted (the cache's manifest left out)."""
    return sorted(
        p for p in staged.rglob("*") if p.is_file() and p.relative_to(staged) != Path(MANIFEST)
    )


def _key(entries: Sequence[Entry], digests: Sequence[str]) -> str:
    return hashlib.sha256(f"uncompressed\n{cache_key(entries, digests)}".encode()).hexdigest()


def _complete(target: Path, count: int, size: int) -> bool:
    try:
        manifest = json.loads((target / MANIFEST).read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest == {"files": count, "bytes": size}


def _copy(entry: Entry, target: Path, expected: os.stat_result) -> str:
    """Copy one file, hashing the bytes read; fail if it changes while being copied."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with entry.source.open("rb") as source, target.open("wb") as out:
        before = os.fstat(source.fileno())
        if _changed(expected, before):
            raise BundleError(f"{entry.source}: changed while being staged; stage it again")
        while chunk := source.read(READ_CHUNK):
            digest.update(chunk)
            out.write(chunk)
    if _changed(before, entry.source.stat()):
        raise BundleError(f"{entry.source}: changed while being staged; stage it again")
    target.chmod(0o755 if entry.executable else 0o644)
    return digest.hexdigest()


def _changed(before: os.stat_result, after: os.stat_result) -> bool:
    return (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns)
