"""A model's drift baseline built at synth: statistics.json and constraints.json, cached.

Like bundles, baselines are content-addressed: the key is a sha256 over this format's version,
the data file's bytes, the feature list and the drift threshold, so an unchanged model reuses
its files and never shows a diff, and any change to an input gives new files (and new asset
hashes). Files are written to a temporary name and renamed into place, constraints last, so an
interrupted build leaves no entry to be reused.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bundler.baseline.constraints import suggest_constraints
from bundler.baseline.dataset import read_csv
from bundler.baseline.documents import dumps
from bundler.baseline.statistics import compute_statistics

# Bump when the statistics or constraints this package writes change for the same inputs.
FORMAT_VERSION = 1
STATISTICS = "statistics.json"
CONSTRAINTS = "constraints.json"


@dataclass(frozen=True)
class Baseline:
    """A built baseline: the two files, their sha256 (the CDK asset hashes) and the features."""

    statistics: Path
    constraints: Path
    statistics_sha256: str
    constraints_sha256: str
    features: tuple[str, ...]
    cached: bool


def build_baseline(
    *, data: Path, features: Sequence[str], drift_threshold: float, cache_dir: Path
) -> Baseline:
    """The baseline of `data` (its `features`, all columns when empty), built once per input.

    Raises:
        BaselineError: the data file cannot be read as a table, or lacks a feature.
    """
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    key = hashlib.sha256(
        json.dumps([FORMAT_VERSION, digest, list(features), repr(float(drift_threshold))]).encode()
    ).hexdigest()
    folder = cache_dir / "baselines" / key
    statistics_path, constraints_path = folder / STATISTICS, folder / CONSTRAINTS
    cached = statistics_path.is_file() and constraints_path.is_file()
    if not cached:
        dataset = read_csv(data, features=list(features) or None)
        statistics = compute_statistics(dataset)
        constraints = suggest_constraints(statistics, drift_threshold=drift_threshold)
        folder.mkdir(parents=True, exist_ok=True)
        _write(statistics_path, dumps(statistics))
        _write(constraints_path, dumps(constraints))
    names = tuple(f["name"] for f in json.loads(constraints_path.read_bytes())["features"])
    return Baseline(
        statistics=statistics_path,
        constraints=constraints_path,
        statistics_sha256=_sha256(statistics_path),
        constraints_sha256=_sha256(constraints_path),
        features=names,
        cached=cached,
    )


def _write(path: Path, content: bytes) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_bytes(content)
    partial.replace(path)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
