"""The archive pass hashes large inputs on a thread of its own: same digests, no leaked thread."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

from bundler.archive import COPY_BUFFER, OFFLOAD_HASHING, HashingReader, write_archive
from bundler.cache import file_sha256
from bundler.layout import BundleSpec, collect


def _folder(root: Path, weights_size: int) -> BundleSpec:
    root.mkdir(parents=True, exist_ok=True)
    (root / "model.pt").write_bytes(bytes(range(256)) * (weights_size // 256) + b"tail")
    (root / "inference.py").write_text("def model_fn(d):\n    return d\n")
    return BundleSpec(model_dir=root, weights=("model.pt",))


def _hashing_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "bundle-sha256"]


def test_digests_from_the_archive_pass_equal_file_digests(tmp_path: Path) -> None:
    spec = _folder(tmp_path / "m", 3 * COPY_BUFFER + 12_345)  # several offloaded chunks
    digests: dict[str, str] = {}
    write_archive(collect(spec), io.BytesIO(), digests=digests)
    for name, source in (("model.pt", "model.pt"), ("code/inference.py", "inference.py")):
        assert digests[name] == file_sha256(spec.model_dir / source)
    assert not _hashing_threads()


def test_small_and_large_reads_mixed_keep_chunk_order(tmp_path: Path) -> None:
    data = bytes(range(256)) * (3 * OFFLOAD_HASHING // 256)
    reader = HashingReader(io.BytesIO(data))
    while reader.read(1000 if reader.raw.tell() < 5000 else OFFLOAD_HASHING):
        pass
    import hashlib

    assert reader.hexdigest() == hashlib.sha256(data).hexdigest()


def test_closing_stops_the_hashing_thread_whatever_was_read() -> None:
    class Failing(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            if self.tell() >= OFFLOAD_HASHING:
                raise OSError("disk went away")
            return super().read(size)

    reader = HashingReader(Failing(b"x" * (2 * OFFLOAD_HASHING)))
    reader.read(OFFLOAD_HASHING)
    assert _hashing_threads()
    with pytest.raises(OSError, match="went away"):
        reader.read(OFFLOAD_HASHING)
    reader.close()
    reader.close()
    assert not _hashing_threads()


def test_large_new_weights_are_identified_by_their_archive_not_hashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    import bundler.cache
    from bundler import build
    from bundler.cache import ARCHIVE_IDENTITY, DIGESTS

    monkeypatch.setattr(bundler.cache, "PREHASH_LIMIT", 1000)  # these weights count as large
    spec = _folder(tmp_path / "m", 50_000)
    cache = tmp_path / "cache"
    first = build(spec, cache)
    memo = json.loads((cache / DIGESTS).read_text())
    recorded = {Path(path).name: entry[5] for path, entry in memo.items()}
    assert recorded["model.pt"] == f"{ARCHIVE_IDENTITY}{first.sha256}"
    assert build(spec, cache).cached  # the identity finds the archive again
    weights = spec.model_dir / "model.pt"
    weights.touch()  # same bytes, new stat: one more archive pass, the same archive
    touched = build(spec, cache)
    assert touched.cached and touched.sha256 == first.sha256
    weights.write_bytes(weights.read_bytes()[:-1] + b"!")
    changed = build(spec, cache)
    assert not changed.cached and changed.sha256 != first.sha256
    (spec.model_dir / "inference.py").write_text("def model_fn(d):\n    return None\n")
    code_only = build(spec, cache)  # small change: prehashed, weights keep their identity
    assert not code_only.cached and code_only.sha256 != changed.sha256
    assert build(spec, cache).cached
