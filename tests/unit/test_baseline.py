"""The drift baseline library: Model Monitor's documented files, reproducible, and its checks."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

from bundler.baseline import (
    BaselineError,
    Dataset,
    check,
    compute_statistics,
    dumps,
    read_csv,
    suggest_constraints,
)
from bundler.baseline.distance import linf_robust, linf_simple
from bundler.baseline.documents import schema
from bundler.baseline.statistics import SKETCH_K

IRIS = Path(__file__).resolve().parents[2] / "models" / "iris" / "data" / "iris.csv"
IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def validate(document: dict[str, Any], name: str) -> None:
    jsonschema.validate(document, schema(name))


def feature(statistics: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in statistics["features"] if f["name"] == name)


@pytest.fixture(scope="module")
def iris() -> Dataset:
    return read_csv(IRIS, features=IRIS_FEATURES)


@pytest.fixture(scope="module")
def iris_baseline(iris: Dataset) -> tuple[dict[str, Any], dict[str, Any]]:
    statistics = compute_statistics(iris)
    return statistics, suggest_constraints(statistics, drift_threshold=0.1)


def iris_sample(iris: Dataset, *, seed: int, size: int, shift: dict[str, float]) -> Dataset:
    """`size` rows drawn from iris with replacement, `shift` added to the named features."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, iris.item_count, size)
    rows = [[float(c.values[i]) + shift.get(c.name, 0.0) for c in iris.columns] for i in picks]
    return Dataset.from_rows(names=iris.names, rows=rows)


# ------------------------------------------------------------------------------------------
# statistics.json
# ------------------------------------------------------------------------------------------


def test_numerical_statistics_of_a_known_column() -> None:
    data = Dataset.from_rows(names=["x"], rows=[[1], [2], [3], [4], [""]])
    stats = compute_statistics(data)
    x = feature(stats, "x")
    assert stats["dataset"] == {"item_count": 5}
    assert x["inferred_type"] == "Integral"
    numbers = x["numerical_statistics"]
    assert numbers["common"] == {"num_present": 4, "num_missing": 1}
    assert (numbers["sum"], numbers["mean"], numbers["min"], numbers["max"]) == (10, 2.5, 1, 4)
    assert numbers["std_dev"] == pytest.approx(np.std([1, 2, 3, 4]))
    buckets = numbers["distribution"]["kll"]["buckets"]
    assert len(buckets) == 10
    assert sum(b["count"] for b in buckets) == 4
    assert (buckets[0]["lower_bound"], buckets[-1]["upper_bound"]) == (1, 4)
    assert numbers["distribution"]["kll"]["sketch"]["data"] == [[1, 2, 3, 4]]


def test_types_are_inferred_from_every_present_value() -> None:
    rows = [["1", "1.5", "red", "", "2"], ["2", "2", "blue", "", "x"], ["3", "3", "red", "", "3"]]
    stats = compute_statistics(Dataset.from_rows(names=["i", "f", "s", "u", "m"], rows=rows))
    types = {f["name"]: f["inferred_type"] for f in stats["features"]}
    assert types == {
        "i": "Integral",
        "f": "Fractional",
        "s": "String",
        "u": "Unknown",
        "m": "String",
    }
    colours = feature(stats, "s")["string_statistics"]
    assert colours["distinct_count"] == 2
    assert colours["distribution"]["categorical"]["buckets"] == [
        {"value": "blue", "count": 1},
        {"value": "red", "count": 2},
    ]
    validate(stats, "statistics")


def test_json_records_parse_like_csv_cells() -> None:
    from_json = Dataset.from_records([{"a": 5.1, "b": None}, {"a": "6", "b": True}])
    from_csv = Dataset.from_rows(names=["a", "b"], rows=[["5.1", ""], ["6", "true"]])
    assert dumps(compute_statistics(from_json)) == dumps(compute_statistics(from_csv))


def test_a_large_dataset_keeps_k_evenly_spaced_values_in_its_sketch() -> None:
    values = list(range(10 * SKETCH_K))
    stats = compute_statistics(Dataset.from_rows(names=["n"], rows=[[v] for v in values]))
    (level,) = feature(stats, "n")["numerical_statistics"]["distribution"]["kll"]["sketch"]["data"]
    assert len(level) == SKETCH_K
    assert level == sorted(level)
    assert level[0] == 5 and level[-1] == 10 * SKETCH_K - 5


def test_statistics_and_constraints_match_the_documented_schemas(
    iris_baseline: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    statistics, constraints = iris_baseline
    validate(statistics, "statistics")
    validate(constraints, "constraints")
    config = constraints["monitoring_config"]["distribution_constraints"]
    assert config["comparison_threshold"] == 0.1
    assert [f["name"] for f in constraints["features"]] == IRIS_FEATURES


def test_the_schema_rejects_what_the_documentation_does_not_allow(
    iris_baseline: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    statistics, _ = iris_baseline
    broken = {**statistics, "features": [{**statistics["features"][0], "inferred_type": "Float"}]}
    with pytest.raises(jsonschema.ValidationError):
        validate(broken, "statistics")


def test_string_features_get_domains_only_when_few() -> None:
    rows = [["a" if i % 2 else "b", f"user-{i}", i] for i in range(30)]
    stats = compute_statistics(Dataset.from_rows(names=["kind", "user", "n"], rows=rows))
    kind, user, n = suggest_constraints(stats, drift_threshold=0.2)["features"]
    assert kind["string_constraints"] == {"domains": ["a", "b"]}
    assert "string_constraints" not in user  # 30 distinct values: no domain
    assert n["num_constraints"] == {"is_non_negative": True}


# ------------------------------------------------------------------------------------------
# Byte reproducibility
# ------------------------------------------------------------------------------------------


def test_documents_are_the_same_bytes_whatever_the_row_order(iris: Dataset) -> None:
    rows = [[c.values[i] for c in iris.columns] for i in range(iris.item_count)]
    shuffled = [rows[i] for i in np.random.default_rng(3).permutation(len(rows))]
    first = compute_statistics(Dataset.from_rows(names=iris.names, rows=rows))
    second = compute_statistics(Dataset.from_rows(names=iris.names, rows=shuffled))
    assert dumps(first) == dumps(second)
    threshold = 0.1
    assert dumps(suggest_constraints(first, drift_threshold=threshold)) == dumps(
        suggest_constraints(second, drift_threshold=threshold)
    )


def test_dumps_sorts_keys_and_fixes_float_precision() -> None:
    text = dumps({"b": 0.1 + 0.2, "a": [1, 2.0]}).decode()
    assert text == '{\n  "a": [\n    1,\n    2.0\n  ],\n  "b": 0.3\n}\n'
    with pytest.raises(ValueError):
        dumps({"x": float("inf")})


# ------------------------------------------------------------------------------------------
# The distance and the checks
# ------------------------------------------------------------------------------------------


def test_linf_simple_is_the_largest_cdf_gap() -> None:
    assert linf_simple(np.array([1.0, 2, 3, 4]), np.array([2.0, 3, 4, 5])) == 0.25
    assert linf_simple(np.array([0.0]), np.array([1.0])) == 1.0


def test_linf_robust_forgives_what_small_samples_explain() -> None:
    assert linf_robust(0.25, baseline_count=4, current_count=4) == 0.0
    assert linf_robust(0.25, baseline_count=100_000, current_count=100_000) == pytest.approx(
        0.25 - 1.6276 * (2 / 100_000) ** 0.5, abs=1e-4
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_traffic_drawn_from_the_baseline_does_not_drift(
    iris: Dataset, iris_baseline: tuple[dict[str, Any], dict[str, Any]], seed: int
) -> None:
    statistics, constraints = iris_baseline
    current = compute_statistics(iris_sample(iris, seed=seed, size=200, shift={}))
    result = check(current=current, baseline=statistics, constraints=constraints)
    assert result.violations == ()
    assert set(result.distances) == set(IRIS_FEATURES)
    assert max(result.distances.values()) <= 0.1


def test_a_shifted_feature_drifts_and_only_that_one(
    iris: Dataset, iris_baseline: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    statistics, constraints = iris_baseline
    current = compute_statistics(iris_sample(iris, seed=1, size=200, shift={"sepal_width": 1.0}))
    result = check(current=current, baseline=statistics, constraints=constraints)
    assert [(v.feature_name, v.constraint_check_type) for v in result.violations] == [
        ("sepal_width", "baseline_drift_check")
    ]
    assert result.distances["sepal_width"] > 0.3
    validate(result.document(), "constraint_violations")


def test_simple_distance_flags_what_robust_forgives(
    iris: Dataset, iris_baseline: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    statistics, constraints = iris_baseline
    simple = {**constraints, "monitoring_config": {"distribution_constraints": {
        "comparison_method": "Simple", "comparison_threshold": 0.1}}}  # fmt: skip
    current = compute_statistics(iris_sample(iris, seed=2, size=20, shift={}))
    assert check(current=current, baseline=statistics, constraints=constraints).violations == ()
    assert check(current=current, baseline=statistics, constraints=simple).violations


def test_missing_extra_incomplete_and_mistyped_columns() -> None:
    base = compute_statistics(
        Dataset.from_rows(names=["a", "b", "c"], rows=[[i, i / 2, "x"] for i in range(50)])
    )
    constraints = suggest_constraints(base, drift_threshold=0.5)
    rows = [[None if i % 2 else i, "n/a", "y", 1] for i in range(50)]
    current = compute_statistics(Dataset.from_rows(names=["a", "b", "c", "d"], rows=rows))
    del current["features"][2]  # c never arrived
    result = check(current=current, baseline=base, constraints=constraints)
    found = {(v.feature_name, v.constraint_check_type) for v in result.violations}
    assert found == {
        ("a", "completeness_check"),
        ("b", "data_type_check"),
        ("c", "missing_column_check"),
        ("d", "extra_column_check"),
    }
    validate(result.document(), "constraint_violations")


def test_unknown_categories_and_categorical_drift() -> None:
    base = compute_statistics(Dataset.from_rows(names=["s"], rows=[["a"], ["b"]] * 50))
    constraints = suggest_constraints(base, drift_threshold=0.2)
    current = compute_statistics(Dataset.from_rows(names=["s"], rows=[["a"]] * 60 + [["z"]] * 40))
    result = check(current=current, baseline=base, constraints=constraints)
    found = sorted(v.constraint_check_type for v in result.violations)
    assert found == ["baseline_drift_check", "categorical_values_check"]
    assert result.distances["s"] == pytest.approx(0.5)


def test_disabled_evaluation_reports_distances_but_no_violations(
    iris: Dataset, iris_baseline: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    statistics, constraints = iris_baseline
    config = {**constraints["monitoring_config"], "evaluate_constraints": "Disabled"}
    off = {**constraints, "monitoring_config": config}
    current = compute_statistics(iris_sample(iris, seed=1, size=200, shift={"petal_width": 3.0}))
    result = check(current=current, baseline=statistics, constraints=off)
    assert result.violations == ()
    assert result.distances["petal_width"] > 0.5


# ------------------------------------------------------------------------------------------
# Reading data
# ------------------------------------------------------------------------------------------


def test_a_gzipped_csv_reads_like_the_plain_one(tmp_path: Path) -> None:
    packed = tmp_path / "iris.csv.gz"
    packed.write_bytes(gzip.compress(IRIS.read_bytes(), mtime=0))
    assert read_csv(packed) == read_csv(IRIS)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("a,b\n", "no rows"),
        ("a,a\n1,2\n", "named twice"),
        ("a,\n1,2\n", "has no name"),
        ("a,b\n1,2,3\n", "3 values for 2 features"),
    ],
)
def test_bad_data_files_say_what_to_fix(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "data.csv"
    path.write_text(text)
    with pytest.raises(BaselineError, match=message) as error:
        read_csv(path)
    assert "fix:" in str(error.value)


def test_an_unknown_feature_names_the_columns() -> None:
    with pytest.raises(BaselineError, match="the columns are sepal_length"):
        read_csv(IRIS, features=["petal_area"])


# ------------------------------------------------------------------------------------------
# The synth-time build and the template contract
# ------------------------------------------------------------------------------------------


def test_a_baseline_is_built_once_per_input(tmp_path: Path) -> None:
    from bundler.baseline import build_baseline

    def built(threshold: float) -> Any:
        return build_baseline(
            data=IRIS, features=IRIS_FEATURES, drift_threshold=threshold, cache_dir=tmp_path
        )

    first, again, other = built(0.1), built(0.1), built(0.2)
    assert (first.cached, again.cached, other.cached) == (False, True, False)
    assert again.statistics.read_bytes() == first.statistics.read_bytes()
    assert first.statistics_sha256 == other.statistics_sha256  # the data did not change
    assert first.constraints_sha256 != other.constraints_sha256  # the threshold did
    assert first.features == tuple(IRIS_FEATURES)
    validate(json.loads(first.constraints.read_text()), "constraints")


def test_the_monitoring_record_round_trips_and_refuses_malformed_entries() -> None:
    from stacks.metadata import MONITORING, MonitoringRecord, read_monitoring

    record = MonitoringRecord(
        schedule_name="prod-iris-dq",
        schedule="cron(0 * ? * * *)",
        drift_threshold=0.1,
        features=("a", "b"),
        statistics="asset.1.json",
        constraints="asset.2.json",
    )
    assert read_monitoring({"Metadata": {MONITORING: record.to_json()}}) == record
    assert record.to_json()["drift_threshold"] == "0.1"
    broken = {**record.to_json(), "drift_threshold": "a tenth"}
    assert read_monitoring({"Metadata": {MONITORING: broken}}) is None
    assert read_monitoring({"Metadata": {}}) is None
