"""`ops drift`'s check on known samples: captured in-distribution and shifted iris requests,
written as the emulator's data capture writes them, against a baseline built from iris.csv."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
from moto import mock_aws

from bundler.baseline import dumps, read_csv, suggest_constraints
from bundler.baseline.documents import schema
from bundler.baseline.statistics import compute_statistics
from ops.drift import check, metrics
from ops.drill.shifted import Shifted
from ops.emulator import data_capture

ROOT = Path(__file__).resolve().parents[2]
IRIS = ROOT / "models" / "iris" / "data" / "iris.csv"
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
DESTINATION = "s3://capture-bucket/data-capture"
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def aws(aws_credentials: None) -> Iterator[Any]:
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(
            Bucket="capture-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        yield s3


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("baseline")
    statistics = compute_statistics(read_csv(IRIS, features=FEATURES))
    (folder / "statistics.json").write_bytes(dumps(statistics))
    constraints = suggest_constraints(statistics, drift_threshold=0.1)
    (folder / "constraints.json").write_bytes(dumps(constraints))
    return folder / "statistics.json", folder / "constraints.json"


def capture(s3: Any, bodies: list[bytes], *, at: datetime) -> None:
    """Write the requests as data capture records (no content-type header: BASE64)."""
    settings = data_capture.settings_of(
        {
            "DestinationS3Uri": DESTINATION,
            "InitialSamplingPercentage": 100,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        }
    )
    assert settings is not None
    lines = []
    for body in bodies:
        exchange = data_capture.Exchange(
            endpoint="prod-iris",
            variant="primary",
            request=body,
            request_type="application/json",
            response=b"{}",
            response_type="application/json",
            at=at,
        )
        lines.append(json.dumps(data_capture.record(exchange, settings, event_id="e")))
    folder = data_capture.hour_prefix(settings, "prod-iris", "primary", at)
    key = f"{folder}/{data_capture.file_name(at)}"
    s3.put_object(Bucket="capture-bucket", Key=key, Body="\n".join(lines).encode())


def target(baseline: tuple[Path, Path]) -> check.Target:
    return check.Target(
        stack="Prod-iris",
        endpoint="prod-iris",
        schedule="prod-iris-data-quality",
        destination=DESTINATION,
        statistics=baseline[0],
        constraints=baseline[1],
    )


def drift_points(cloudwatch: Any) -> dict[str, float]:
    found = {}
    for feature in FEATURES:
        points = cloudwatch.get_metric_statistics(
            Namespace=metrics.NAMESPACE,
            MetricName=f"{metrics.DRIFT_PREFIX}{feature}",
            Dimensions=metrics.dimensions(endpoint="prod-iris", schedule="prod-iris-data-quality"),
            StartTime=NOW - timedelta(minutes=5),
            EndTime=NOW + timedelta(minutes=5),
            Period=600,
            Statistics=["Sum"],
        )["Datapoints"]
        found[feature] = sum(p["Sum"] for p in points)
    return found


def test_in_distribution_traffic_has_no_violation(
    aws: Any, baseline: tuple[Path, Path], tmp_path: Path
) -> None:
    bodies = Shifted.of(read_csv(IRIS, features=FEATURES)).bodies(40, per_request=5, shift=0.0)
    capture(aws, bodies, at=NOW)
    cloudwatch = boto3.client("cloudwatch", region_name="eu-west-1")
    outcome = check.run(
        target=target(baseline), s3=aws, cloudwatch=cloudwatch, folder=tmp_path / "run", at=NOW
    )
    assert (outcome.rows, outcome.records) == (200, 40)
    assert outcome.violations == []
    assert set(outcome.distances) == set(FEATURES)
    assert all(value < 0.1 for value in drift_points(cloudwatch).values())
    written = json.loads((tmp_path / "run" / "constraint_violations.json").read_text())
    jsonschema.validate(written, schema("constraint_violations"))
    assert written == {"violations": []}
    assert "no violations" in outcome.report.read_text()
    assert not list((tmp_path / "run").glob("*.png"))


def test_shifted_traffic_violates_publishes_and_plots(
    aws: Any, baseline: tuple[Path, Path], tmp_path: Path
) -> None:
    bodies = Shifted.of(read_csv(IRIS, features=FEATURES)).bodies(40, per_request=5, shift=2.0)
    capture(aws, bodies, at=NOW)
    cloudwatch = boto3.client("cloudwatch", region_name="eu-west-1")
    outcome = check.run(
        target=target(baseline), s3=aws, cloudwatch=cloudwatch, folder=tmp_path / "run", at=NOW
    )
    drifted = {
        v["feature_name"]
        for v in outcome.violations
        if v["constraint_check_type"] == "baseline_drift_check"
    }
    assert drifted == set(FEATURES)
    published = drift_points(cloudwatch)
    assert published == pytest.approx(outcome.distances)
    assert min(published.values()) > 0.1
    jsonschema.validate(
        json.loads((tmp_path / "run" / "constraint_violations.json").read_text()),
        schema("constraint_violations"),
    )
    jsonschema.validate(
        json.loads((tmp_path / "run" / "statistics.json").read_text()), schema("statistics")
    )
    pictures = sorted(p.name for p in (tmp_path / "run").glob("*.png"))
    assert pictures == sorted(f"{f}.png" for f in FEATURES)
    assert all((tmp_path / "run" / p).read_bytes().startswith(b"\x89PNG") for p in pictures)
    text = outcome.report.read_text()
    assert "baseline_drift_check" in text and "![sepal_length" in text


def test_window_and_nothing_captured(aws: Any, baseline: tuple[Path, Path], tmp_path: Path) -> None:
    bodies = Shifted.of(read_csv(IRIS, features=FEATURES)).bodies(5, per_request=1, shift=0.0)
    capture(aws, bodies, at=NOW - timedelta(hours=2))
    cloudwatch = boto3.client("cloudwatch", region_name="eu-west-1")
    since = (NOW - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with pytest.raises(check.NothingCaptured, match="no captured requests for prod-iris"):
        check.run(
            target=target(baseline), s3=aws, cloudwatch=cloudwatch, folder=tmp_path, since=since
        )


def test_positional_columns_take_the_baselines_names() -> None:
    rows: list[dict[str, object]] = [{"_c0": 1, "_c1": 2, "_c2": 3}, {"x": 4}]
    assert check.named(rows, ["a", "b"]) == [{"a": 1, "b": 2, "_c2": 3}, {"x": 4}]


def test_shifted_draws_stay_in_range_and_whole() -> None:
    dataset = read_csv(IRIS, features=FEATURES)
    shifted = Shifted.of(dataset)
    moved = shifted.draw(500, shift=3.0)
    assert (moved >= shifted.low).all() and (moved <= shifted.high).all()
    assert moved.mean(axis=0).tolist() > shifted.rows.mean(axis=0).tolist()
    assert (shifted.draw(10, shift=1.0) == shifted.draw(10, shift=1.0)).all()  # seeded
