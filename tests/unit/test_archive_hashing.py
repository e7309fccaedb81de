"""Large new weights are identified by the archive that packs them, not hashed twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from bundler.layout import BundleSpec


def _folder(root: Path, weights_size: int) -> BundleSpec:
    root.mkdir(parents=True, exist_ok=True)
    (root / "model.pt").write_bytes(bytes(range(256)) * (weights_size // 256) + b"tail")
    (root / "inference.py").write_text("def model_fn(d):\n    return d\n")
    return BundleSpec(model_dir=root, weights=("model.pt",))


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
