"""The distribution distance behind Model Monitor's baseline_drift_check.

What the constraints page documents
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-byoc-constraints.html,
`distribution_constraints`): the distance is "the maximum absolute difference between the
cumulative distribution functions of two distributions" (L-infinity, `linf_simple`, method
"Simple"); the Robust method (`linf_robust`) "is based on linf_simple, but is used when there
are not enough samples", its formula "based on the Two-sample Kolmogorov-Smirnov test". For
String features the `categorical_drift_method` LInfinity is the largest difference between the
two datasets' category frequencies.

Which library, and why: scipy.stats. `ks_2samp(...).statistic` is exactly the documented
L-infinity distance between two empirical CDFs, computed by a library that is tested against
the published KS tables; `kstwobign` (the limiting Kolmogorov distribution) gives the KS test's
critical value, which is what "robust" needs. Writing the CDF merge by hand would re-derive the
same statistic with fewer eyes on it.

What the page leaves open, and what is chosen here:
- Robust = max(0, L-infinity - c(alpha) * sqrt((n + m) / (n m))): the distance left over once
  the KS test's critical gap for samples of n and m rows is taken off, alpha = 0.01, n and m
  the two datasets' `num_present`. So a small window drawn from the baseline's own distribution
  scores 0, and a shifted one scores how far past chance its gap is.
- The distributions are the statistics files' KLL sketches. A sketch level i is read as holding
  values of weight 2**i (KLL's compaction doubles the weight per level); the sketches this
  package writes have one level. Weighted values are expanded by repetition.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

ROBUST_ALPHA = 0.01
SIMPLE = "Simple"
ROBUST = "Robust"


def sketch_values(numerical_statistics: dict[str, Any]) -> np.ndarray:
    """The sample a statistics file's KLL sketch stands for, each value as often as it weighs."""
    levels = numerical_statistics["distribution"]["kll"]["sketch"]["data"]
    parts = [np.repeat(np.asarray(level, dtype=float), 2**i) for i, level in enumerate(levels)]
    return np.concatenate(parts) if parts else np.empty(0)


def linf_simple(baseline: np.ndarray, current: np.ndarray) -> float:
    """The largest gap between the two samples' empirical CDFs (two-sample KS statistic)."""
    if baseline.size == 0 or current.size == 0:
        return 0.0
    from scipy import stats  # ~1.7 CPU-s to import: paid only where a distance is computed

    return float(stats.ks_2samp(baseline, current).statistic)


def linf_robust(distance: float, *, baseline_count: int, current_count: int) -> float:
    """`distance` less the KS test's critical gap for these sample sizes, never below zero."""
    if baseline_count <= 0 or current_count <= 0:
        return 0.0
    from scipy import stats

    critical = float(stats.kstwobign.isf(ROBUST_ALPHA))
    scale = math.sqrt((baseline_count + current_count) / (baseline_count * current_count))
    return max(0.0, distance - critical * scale)


def numerical_distance(
    baseline: dict[str, Any], current: dict[str, Any], *, method: str = ROBUST
) -> float:
    """The documented distance between two features' `numerical_statistics`."""
    simple = linf_simple(sketch_values(baseline), sketch_values(current))
    if method == SIMPLE:
        return simple
    if method != ROBUST:
        raise ValueError(f"comparison_method {method!r}: Model Monitor knows Simple and Robust")
    return linf_robust(
        simple,
        baseline_count=baseline["common"]["num_present"],
        current_count=current["common"]["num_present"],
    )


def categorical_distance(baseline: dict[str, Any], current: dict[str, Any]) -> float:
    """LInfinity between two features' `string_statistics`: the largest frequency difference."""
    left = _frequencies(baseline)
    right = _frequencies(current)
    if not left or not right:
        return 0.0
    return max(abs(left.get(v, 0.0) - right.get(v, 0.0)) for v in left.keys() | right.keys())


def _frequencies(string_statistics: dict[str, Any]) -> dict[str, float]:
    buckets = string_statistics["distribution"]["categorical"]["buckets"]
    total = sum(bucket["count"] for bucket in buckets)
    return {b["value"]: b["count"] / total for b in buckets} if total else {}
