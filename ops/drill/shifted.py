"""Requests drawn from a model's own baseline data, optionally shifted: the drift drill's traffic.

`--fault drift=2sd` moves every numerical feature by twice its standard deviation in the
baseline data (`drift=0` draws from the baseline as it is, the in-distribution run). Rows are
drawn with replacement by a seeded generator, so a drill sends the same requests each time.
Shifted values are clipped to the range the baseline saw, so a model that refuses values out of
its training range (digits: 0-16) still answers them, and a feature of whole numbers stays
whole: the distribution moves, the data stays valid input.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from bundler.baseline import Dataset

SEED = 17


@dataclass(frozen=True)
class Shifted:
    """Each numerical column of the baseline with its spread and range, for drawing requests."""

    names: tuple[str, ...]
    rows: np.ndarray  # (n, features) float
    whole: np.ndarray  # (features,) bool: a column of whole numbers
    std: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def of(cls, dataset: Dataset) -> Shifted:
        columns = dataset.columns
        for column in columns:
            if not all(isinstance(v, int | float) for v in column.values):
                raise ValueError(
                    f"baseline column {column.name!r} is not all numbers: the drift drill "
                    "draws numerical requests only"
                )
        rows = np.array(
            [[float(v) if isinstance(v, int | float) else 0.0 for v in c.values] for c in columns]
        ).T
        return cls(
            names=tuple(c.name for c in columns),
            rows=rows,
            whole=np.array([all(isinstance(v, int) for v in c.values) for c in columns]),
            std=rows.std(axis=0),
            low=rows.min(axis=0),
            high=rows.max(axis=0),
        )

    def draw(self, count: int, *, shift: float, seed: int = SEED) -> np.ndarray:
        """`count` rows drawn with replacement, each feature moved by `shift` deviations."""
        generator = np.random.default_rng(seed)
        picked = self.rows[generator.integers(0, len(self.rows), size=count)]
        moved = np.clip(picked + shift * self.std, self.low, self.high)
        return np.where(self.whole, np.rint(moved), moved)

    def bodies(
        self, requests: int, *, per_request: int, shift: float, seed: int = SEED
    ) -> list[bytes]:
        """JSON request bodies, `{"instances": [[...], ...]}`, `per_request` rows each."""
        drawn = self.draw(requests * per_request, shift=shift, seed=seed)
        out = []
        for index in range(requests):
            block = drawn[index * per_request : (index + 1) * per_request]
            instances = [
                [
                    int(v) if whole else round(float(v), 6)
                    for v, whole in zip(row, self.whole, strict=True)
                ]
                for row in block
            ]
            out.append(json.dumps({"instances": instances}).encode())
        return out
