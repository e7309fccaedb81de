"""Model Monitor's constraints.json, suggested from a baseline's statistics.

The format is the documented one, "Schema for Constraints (constraints.json file)",
https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-byoc-constraints.html :
`version`, per feature `name`, `inferred_type`, `completeness`, `num_constraints.is_non_negative`
or `string_constraints.domains`, and `monitoring_config` with `evaluate_constraints`,
`emit_metrics`, `datatype_check_threshold`, `domain_content_threshold` and
`distribution_constraints` {`perform_comparison`, `comparison_threshold`, `comparison_method`,
`categorical_comparison_threshold`, `categorical_drift_method`}.

Choices the page leaves to the baseline's author:
- `completeness` is the fraction of present values the baseline had (1.0 for complete data), as
  the page describes the suggested value ("observed non-null value percentage").
- `domains` are written only for a String feature with at most `DOMAIN_LIMIT` distinct values
  ("for small cardinality"); a wider one gets no domain constraint.
- The thresholds the page gives defaults for keep them (0.1); the drift threshold is the
  project's config (`monitoring.data_quality.drift_threshold`), used for numerical and
  categorical features alike.
- `comparison_method` is Robust: monitoring windows hold far fewer requests than the baseline
  has rows, and the page offers the Robust distance for exactly that case (see `distance`).
"""

from __future__ import annotations

from typing import Any

from bundler.baseline.statistics import NUMERIC_TYPES, VERSION

DOMAIN_LIMIT = 20
DATATYPE_CHECK_THRESHOLD = 0.1
DOMAIN_CONTENT_THRESHOLD = 0.1
COMPARISON_METHOD = "Robust"
CATEGORICAL_DRIFT_METHOD = "LInfinity"


def suggest_constraints(statistics: dict[str, Any], *, drift_threshold: float) -> dict[str, Any]:
    """The constraints.json document a baseline with `statistics` suggests."""
    if not 0 < drift_threshold <= 1:
        raise ValueError(f"drift_threshold {drift_threshold} is not in (0, 1]")
    return {
        "version": VERSION,
        "features": [_feature(feature) for feature in statistics["features"]],
        "monitoring_config": {
            "evaluate_constraints": "Enabled",
            "emit_metrics": "Enabled",
            "datatype_check_threshold": DATATYPE_CHECK_THRESHOLD,
            "domain_content_threshold": DOMAIN_CONTENT_THRESHOLD,
            "distribution_constraints": {
                "perform_comparison": "Enabled",
                "comparison_threshold": drift_threshold,
                "comparison_method": COMPARISON_METHOD,
                "categorical_comparison_threshold": drift_threshold,
                "categorical_drift_method": CATEGORICAL_DRIFT_METHOD,
            },
        },
    }


def _feature(feature: dict[str, Any]) -> dict[str, Any]:
    inferred = feature["inferred_type"]
    stats = feature.get("numerical_statistics") or feature["string_statistics"]
    present, missing = stats["common"]["num_present"], stats["common"]["num_missing"]
    total = present + missing
    constraint: dict[str, Any] = {
        "name": feature["name"],
        "inferred_type": inferred,
        "completeness": present / total if total else 0.0,
    }
    if inferred in NUMERIC_TYPES:
        constraint["num_constraints"] = {"is_non_negative": stats["min"] >= 0}
    elif 0 < stats["distinct_count"] <= DOMAIN_LIMIT:
        buckets = stats["distribution"]["categorical"]["buckets"]
        constraint["string_constraints"] = {"domains": sorted(b["value"] for b in buckets)}
    return constraint
