"""The CloudWatch metrics Model Monitor's data-quality job publishes after a run.

Follows "CloudWatch Metrics" of the data-quality monitor
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-interpreting-cloudwatch.html)
for the metric names, published when the constraints' `monitoring_config.emit_metrics` is
Enabled:

- numerical features: `feature_data_<feature>` with Max, Min, Sum, SampleCount and Average
  (published as one statistic set: SampleCount = values present, Sum, Minimum, Maximum);
- every feature: `feature_non_null_<feature>` (completeness, read with Sum) and
  `feature_baseline_drift_<feature>` (the drift distance, read with Sum).

Where the pages disagree, and the choice made here. The namespace and dimensions are given three
ways: `/aws/sagemaker/Endpoints/data-metric` with `EndpointName` and `ScheduleName` (that page),
`/aws/sagemaker/Endpoint/data-metrics` with `Endpoint` and `MonitoringSchedule` ("CloudWatch
Metrics for Bring Your Own Containers",
https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-byoc-cloudwatch.html). The sibling
monitors' pages write their namespaces as `aws/sagemaker/Endpoints/bias-metrics` with `Endpoint`
and `MonitoringSchedule` ("CloudWatch Metrics for Bias Drift Analysis",
https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-model-monitor-bias-drift-cw.html), and
the model-quality monitor uses `aws/sagemaker/Endpoints/model-metrics`. Here:
`aws/sagemaker/Endpoints/data-metrics` with `Endpoint` and `MonitoringSchedule`, the form two
pages agree on. An alarm written for another form sees no data here, which is the point: the
drill then shows it never fires.

Also open, and chosen: completeness is published as the fraction of values present (0-1), one
data point per feature per run; a feature the distance is not defined for (a String baseline
against numbers) publishes no drift metric. Every data point carries the run's time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
DRIFT_PREFIX = "feature_baseline_drift_"
NON_NULL_PREFIX = "feature_non_null_"
DATA_PREFIX = "feature_data_"
PUT_BATCH = 1000  # PutMetricData takes at most 1000 data points per call


def dimensions(*, endpoint: str, schedule: str) -> list[dict[str, str]]:
    return [
        {"Name": "Endpoint", "Value": endpoint},
        {"Name": "MonitoringSchedule", "Value": schedule},
    ]


def metric_data(
    *,
    statistics: dict[str, Any],
    distances: dict[str, float],
    endpoint: str,
    schedule: str,
    at: datetime,
) -> list[dict[str, Any]]:
    """The run's data points in PutMetricData's `MetricData` form."""
    where = dimensions(endpoint=endpoint, schedule=schedule)
    points: list[dict[str, Any]] = []
    for feature in statistics["features"]:
        name = feature["name"]
        numerical = feature.get("numerical_statistics")
        stats = numerical or feature["string_statistics"]
        present, missing = stats["common"]["num_present"], stats["common"]["num_missing"]
        completeness = present / (present + missing) if present + missing else 0.0
        points.append(_point(f"{NON_NULL_PREFIX}{name}", where, at, value=completeness))
        if numerical is not None and present:
            values = {
                "SampleCount": float(present),
                "Sum": float(numerical["sum"]),
                "Minimum": float(numerical["min"]),
                "Maximum": float(numerical["max"]),
            }
            points.append(_point(f"{DATA_PREFIX}{name}", where, at, statistic_values=values))
        if name in distances:
            points.append(_point(f"{DRIFT_PREFIX}{name}", where, at, value=distances[name]))
    return points


def _point(
    name: str,
    where: list[dict[str, str]],
    at: datetime,
    *,
    value: float | None = None,
    statistic_values: dict[str, float] | None = None,
) -> dict[str, Any]:
    point: dict[str, Any] = {"MetricName": name, "Dimensions": where, "Timestamp": at}
    if statistic_values is not None:
        point["StatisticValues"] = statistic_values
    else:
        point["Value"] = float(value or 0.0)
    return point


def publish(cloudwatch: Any, points: list[dict[str, Any]]) -> int:
    """PutMetricData in batches; the number of data points sent."""
    for start in range(0, len(points), PUT_BATCH):
        cloudwatch.put_metric_data(
            Namespace=NAMESPACE, MetricData=points[start : start + PUT_BATCH]
        )
    return len(points)
