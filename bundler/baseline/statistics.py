"""Model Monitor's statistics.json for any dataset: the baseline's and a monitoring run's.

The format is the documented one, "Schema for Statistics (statistics.json file)",
https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-byoc-statistics.html :
`version`, `dataset.item_count`, and per feature `name`, `inferred_type` and either
`numerical_statistics` (`common.num_present/num_missing`, `mean`, `sum`, `std_dev`, `min`,
`max`, `distribution.kll.buckets` and `.sketch`) or `string_statistics` (`common`,
`distinct_count`, `distribution.categorical.buckets`).

What the page leaves open, and what is chosen here:
- Type inference: a feature is Integral when every present value is an integer, Fractional when
  every present value is a number, String otherwise; a feature with no present value is
  Unknown (a type the constraints page lists) and carries empty string statistics.
- `std_dev` is the population standard deviation (divided by n, as Deequ's analyzer, which the
  prebuilt container is built on, computes it).
- Sums are `math.fsum` (exactly rounded, so independent of row order and of the platform).
- Buckets: the page says the distribution is materialised in 10 buckets; they are equal-width
  between min and max, the last one closed (numpy.histogram); a constant feature has one bucket.
- The sketch: `parameters` {c, k} name a KLL sketch's shrinking factor and size. Data up to k
  values is kept whole in one level (an exact sketch: KLL compacts only past k). Past k, the
  level holds k evenly spaced order statistics instead of a randomly compacted sketch, so the
  file stays byte-reproducible; each value then stands for n/k rows.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bundler.baseline.dataset import Column, Dataset

VERSION = 0
BUCKETS = 10
SKETCH_K = 2048
SKETCH_C = 0.64

INTEGRAL = "Integral"
FRACTIONAL = "Fractional"
STRING = "String"
UNKNOWN = "Unknown"
NUMERIC_TYPES = (INTEGRAL, FRACTIONAL)


def compute_statistics(dataset: Dataset) -> dict[str, Any]:
    """The statistics.json document of `dataset` (a plain dict; `documents.dumps` writes it)."""
    return {
        "version": VERSION,
        "dataset": {"item_count": dataset.item_count},
        "features": [_feature(column) for column in dataset.columns],
    }


def infer_type(column: Column) -> str:
    present = [value for value in column.values if value is not None]
    if not present:
        return UNKNOWN
    if all(isinstance(value, int) for value in present):
        return INTEGRAL
    if all(isinstance(value, int | float) for value in present):
        return FRACTIONAL
    return STRING


def _feature(column: Column) -> dict[str, Any]:
    inferred = infer_type(column)
    present = [value for value in column.values if value is not None]
    common = {"num_present": len(present), "num_missing": len(column.values) - len(present)}
    feature: dict[str, Any] = {"name": column.name, "inferred_type": inferred}
    if inferred in NUMERIC_TYPES:
        numbers = [float(value) for value in present if isinstance(value, int | float)]
        feature["numerical_statistics"] = {"common": common, **_numerical(numbers)}
    else:
        feature["string_statistics"] = {"common": common, **_categorical(present)}
    return feature


def _numerical(numbers: list[float]) -> dict[str, Any]:
    count = len(numbers)
    total = math.fsum(numbers)
    mean = total / count
    variance = math.fsum((x - mean) ** 2 for x in numbers) / count
    low, high = min(numbers), max(numbers)
    return {
        "mean": mean,
        "sum": total,
        "std_dev": math.sqrt(variance),
        "min": low,
        "max": high,
        "distribution": {
            "kll": {"buckets": _buckets(numbers, low, high), "sketch": _sketch(numbers)}
        },
    }


def _buckets(numbers: list[float], low: float, high: float) -> list[dict[str, Any]]:
    if low == high:
        return [{"lower_bound": low, "upper_bound": high, "count": len(numbers)}]
    counts, edges = np.histogram(np.asarray(numbers), bins=BUCKETS, range=(low, high))
    return [
        {"lower_bound": float(edges[i]), "upper_bound": float(edges[i + 1]), "count": int(n)}
        for i, n in enumerate(counts)
    ]


def _sketch(numbers: list[float]) -> dict[str, Any]:
    ordered = sorted(numbers)
    count = len(ordered)
    if count > SKETCH_K:
        ordered = [ordered[(2 * i + 1) * count // (2 * SKETCH_K)] for i in range(SKETCH_K)]
    return {"parameters": {"c": SKETCH_C, "k": SKETCH_K}, "data": [ordered]}


def _categorical(present: list[Any]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for value in present:
        text = str(value)
        counts[text] = counts.get(text, 0) + 1
    return {
        "distinct_count": len(counts),
        "distribution": {
            "categorical": {
                "buckets": [{"value": v, "count": counts[v]} for v in sorted(counts)],
            }
        },
    }
