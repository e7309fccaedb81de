"""Bundling a model folder: the project's bundler vs the sagemaker SDK's tar routine vs `tar`.

Each size gets a model folder with one weights file of float32 values drawn from a seeded
normal distribution (what trained weights look like to a compressor: they shrink only to
~92%), plus inference.py and requirements.txt. The same files go to the three contenders:

- bundler cold: `bundler.build` into an empty cache (reads, hashes, compresses, fsyncs);
- bundler hit: `bundler.build` again, the cache warm (what every unchanged synth costs);
- uncompressed: `bundler.staging.stage`, the files copied as they are into the cache for
  `artifact.compression: none` (the deploy then uploads them without compressing);
- sagemaker SDK: `sagemaker.core.common_utils.create_tar_file` (tarfile + zlib level 9);
- tar: GNU `tar -cf` without compression, the ceiling for reading and writing the bytes.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.measure import Summary, child, run

MB = 1_000_000
CHUNK_VALUES = 1 << 20  # 4 MiB of float32 per write: memory stays flat for any size
SEED = 20_240_601
INFERENCE = "def model_fn(model_dir):\n    return model_dir\n"


@dataclass(frozen=True)
class SizeResult:
    size_mb: int
    bundler: Summary
    hit: Summary
    staged: Summary
    sdk: Summary | None
    tar: Summary


def write_weights(path: Path, size: int, seed: int = SEED) -> None:
    """`size` bytes of seeded normal float32 values, written in chunks."""
    import numpy as np

    generator = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        remaining = size
        while remaining > 0:
            values = min(CHUNK_VALUES, (remaining + 3) // 4)
            data = generator.standard_normal(values, dtype=np.float32).tobytes()[:remaining]
            handle.write(data)
            remaining -= len(data)


def model_folder(workdir: Path, size_mb: int) -> Path:
    """A model folder (and the SDK's `code/` copy of its scripts), made once per size."""
    folder = workdir / f"model-{size_mb}mb"
    weights = folder / "model.pt"
    if not weights.is_file() or weights.stat().st_size != size_mb * MB:
        write_weights(weights, size_mb * MB)
    for place in (folder, folder / "code"):
        place.mkdir(exist_ok=True)
        (place / "inference.py").write_text(INFERENCE)
        (place / "requirements.txt").write_text("")
    return folder


def measure(
    workdir: Path, sizes_mb: list[int], runs: int, sdk_runs: dict[int, int]
) -> Iterator[SizeResult]:
    for size_mb in sizes_mb:
        folder = model_folder(workdir, size_mb)
        spec = {"model_dir": str(folder), "weights": ["model.pt"]}
        cache = workdir / "cache"

        cold, hits = [], []
        for _ in range(runs):
            shutil.rmtree(cache, ignore_errors=True)
            cold.append(run(child("bundle", cache_dir=str(cache), **spec)))
            hits.append(run(child("bundle", cache_dir=str(cache), **spec)))
            if not hits[-1].result["cached"]:
                raise RuntimeError("the second build of an unchanged folder was not a cache hit")
        shutil.rmtree(cache, ignore_errors=True)

        staged = []
        for _ in range(runs):
            staged.append(run(child("stage", cache_dir=str(cache), **spec)))
            shutil.rmtree(cache, ignore_errors=True)

        sdk = []
        target = workdir / "sdk.tar.gz"
        for _ in range(sdk_runs.get(size_mb, runs)):
            sources = [str(folder / "model.pt"), str(folder / "code")]
            sdk.append(run(child("sdk-tar", sources=sources, target=str(target))))
            target.unlink()

        plain = []
        target = workdir / "plain.tar"
        for _ in range(runs):
            sample = run(
                ["tar", "-cf", str(target), "-C", str(folder), "model.pt", "code"],
                timed_by_child=False,
            )
            plain.append(sample)
            target.unlink()

        yield SizeResult(
            size_mb,
            Summary.of(cold),
            Summary.of(hits),
            Summary.of(staged),
            Summary.of(sdk) if sdk else None,
            Summary.of(plain),
        )
        if size_mb * MB > 1 << 30:  # keep the disk free for the next size
            shutil.rmtree(folder, ignore_errors=True)
