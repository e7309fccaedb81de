"""Captured statistics against a baseline: constraint_violations.json and the drift distances.

The output is the documented "Schema for Violations (constraint_violations.json file)",
https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-interpreting-violations.html :
`{"violations": [{"feature_name", "constraint_check_type", "description"}]}`, with the check
types that page lists. How each is decided, from the documented fields only:

- missing_column_check: a baseline feature the current data has no column for.
- extra_column_check: a current column the baseline has no feature for (one per column).
- completeness_check: the current share of present values is below the constraint's
  `completeness`.
- data_type_check: more than `datatype_check_threshold` of the current values do not have the
  baseline's type. For a numeric baseline with a String current column the share is read from
  the categorical buckets (values that do not parse as numbers); for an Integral baseline with a
  Fractional current column, from the sketch (values that are not whole). Integral values in a
  Fractional feature are numbers of that type (a float feature may see 3).
- categorical_values_check: more than `domain_content_threshold` of the current values of a
  String feature with `domains` are outside them.
- baseline_drift_check: the distance of `distance` above `comparison_threshold` (numerical) or
  `categorical_comparison_threshold` (String).

`evaluate_constraints: Disabled` gives no violations; `perform_comparison: Disabled` skips the
drift check. Distances are returned for every feature compared either way: they are what Model
Monitor publishes as the `feature_baseline_drift_<feature>` metrics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bundler.baseline import distance
from bundler.baseline.dataset import parse
from bundler.baseline.statistics import FRACTIONAL, INTEGRAL, NUMERIC_TYPES, STRING, UNKNOWN


@dataclass(frozen=True)
class Violation:
    feature_name: str
    constraint_check_type: str
    description: str

    def document(self) -> dict[str, str]:
        return {
            "feature_name": self.feature_name,
            "constraint_check_type": self.constraint_check_type,
            "description": self.description,
        }


@dataclass(frozen=True)
class CheckResult:
    """What one monitoring run finds: violations, and each compared feature's drift distance."""

    violations: tuple[Violation, ...]
    distances: dict[str, float]

    def document(self) -> dict[str, Any]:
        """The constraint_violations.json document (`documents.dumps` writes it)."""
        return {"violations": [violation.document() for violation in self.violations]}


def check(
    *, current: dict[str, Any], baseline: dict[str, Any], constraints: dict[str, Any]
) -> CheckResult:
    """Check `current` statistics against a baseline's statistics and constraints."""
    config = constraints.get("monitoring_config", {})
    comparison = config.get("distribution_constraints", {})
    current_by_name = {f["name"]: f for f in current["features"]}
    baseline_by_name = {f["name"]: f for f in baseline["features"]}
    found: list[Violation] = []
    distances: dict[str, float] = {}
    for constraint in constraints["features"]:
        name = constraint["name"]
        feature = current_by_name.get(name)
        if feature is None:
            found.append(Violation(name, "missing_column_check", "no column in the current data"))
            continue
        found.extend(_feature_checks(constraint, feature, config))
        base = baseline_by_name.get(name)
        if base is not None:
            measured = _distance(base, feature, comparison)
            if measured is not None:
                distances[name], limit = measured
                if comparison.get("perform_comparison", "Enabled") == "Enabled" and (
                    distances[name] > limit
                ):
                    found.append(_drift(name, distances[name], limit, comparison))
    known = {c["name"] for c in constraints["features"]}
    for name in current_by_name:
        if name not in known:
            found.append(Violation(name, "extra_column_check", "a column the baseline lacks"))
    if config.get("evaluate_constraints", "Enabled") != "Enabled":
        found = []
    return CheckResult(tuple(found), distances)


def _feature_checks(
    constraint: dict[str, Any], feature: dict[str, Any], config: dict[str, Any]
) -> list[Violation]:
    name = constraint["name"]
    stats = feature.get("numerical_statistics") or feature["string_statistics"]
    present, missing = stats["common"]["num_present"], stats["common"]["num_missing"]
    found: list[Violation] = []
    completeness = present / (present + missing) if present + missing else 1.0
    if completeness < constraint.get("completeness", 0.0):
        found.append(
            Violation(
                name,
                "completeness_check",
                f"completeness {completeness:.4g} is below the baseline's "
                f"{constraint['completeness']:.4g} ({missing} of {present + missing} missing)",
            )
        )
    wrong = _wrong_type_share(constraint["inferred_type"], feature)
    limit = config.get("datatype_check_threshold", 0.1)
    if wrong > limit:
        found.append(
            Violation(
                name,
                "data_type_check",
                f"{wrong:.4g} of the values are not {constraint['inferred_type']} "
                f"(seen as {feature['inferred_type']}); the threshold is {limit:.4g}",
            )
        )
    domains = constraint.get("string_constraints", {}).get("domains")
    if domains and feature["inferred_type"] == STRING:
        unknown = _share_outside(stats, set(domains))
        limit = config.get("domain_content_threshold", 0.1)
        if unknown > limit:
            found.append(
                Violation(
                    name,
                    "categorical_values_check",
                    f"{unknown:.4g} of the values are outside the baseline's domain; "
                    f"the threshold is {limit:.4g}",
                )
            )
    return found


def _wrong_type_share(expected: str, feature: dict[str, Any]) -> float:
    seen = feature["inferred_type"]
    if seen in (UNKNOWN, expected) or expected in (STRING, UNKNOWN):
        return 0.0
    if expected == FRACTIONAL and seen == INTEGRAL:
        return 0.0
    if seen == STRING:
        stats = feature["string_statistics"]
        buckets = stats["distribution"]["categorical"]["buckets"]
        total = sum(b["count"] for b in buckets)
        wrong = sum(b["count"] for b in buckets if not _has_type(expected, parse(b["value"])))
        return wrong / total if total else 0.0
    values = distance.sketch_values(feature["numerical_statistics"])
    return float((values != values.round()).mean()) if values.size else 0.0


def _has_type(expected: str, value: object) -> bool:
    if expected == INTEGRAL:
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    return isinstance(value, int | float) and math.isfinite(value)


def _share_outside(string_statistics: dict[str, Any], domains: set[str]) -> float:
    buckets = string_statistics["distribution"]["categorical"]["buckets"]
    total = sum(b["count"] for b in buckets)
    outside = sum(b["count"] for b in buckets if b["value"] not in domains)
    return outside / total if total else 0.0


def _distance(
    base: dict[str, Any], feature: dict[str, Any], comparison: dict[str, Any]
) -> tuple[float, float] | None:
    """(distance, threshold) for comparable features, None when the types do not compare."""
    if base["inferred_type"] in NUMERIC_TYPES and feature["inferred_type"] in NUMERIC_TYPES:
        measured = distance.numerical_distance(
            base["numerical_statistics"],
            feature["numerical_statistics"],
            method=comparison.get("comparison_method", distance.ROBUST),
        )
        return measured, comparison.get("comparison_threshold", 0.1)
    if base["inferred_type"] == STRING and feature["inferred_type"] == STRING:
        method = comparison.get("categorical_drift_method", "LInfinity")
        if method != "LInfinity":
            raise ValueError(f"categorical_drift_method {method!r}: only LInfinity is checked")
        measured = distance.categorical_distance(
            base["string_statistics"], feature["string_statistics"]
        )
        return measured, comparison.get("categorical_comparison_threshold", 0.1)
    return None


def _drift(name: str, measured: float, limit: float, comparison: dict[str, Any]) -> Violation:
    method = comparison.get("comparison_method", distance.ROBUST)
    return Violation(
        name,
        "baseline_drift_check",
        f"baseline drift distance {measured:.4g} exceeds the threshold {limit:.4g} "
        f"({method} L-infinity distance between the baseline's and the current distribution)",
    )
