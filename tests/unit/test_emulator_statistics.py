"""GetMetricData answers percentiles, as CloudWatch does and stock moto does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
from moto import mock_aws

from ops.emulator import behaviours


def test_get_metric_data_answers_percentiles(aws_credentials: None) -> None:
    start = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    metric = {"Namespace": "AWS/SageMaker", "MetricName": "ModelLatency", "Dimensions": []}
    with behaviours.installed(), mock_aws():
        cloudwatch = boto3.client("cloudwatch")
        cloudwatch.put_metric_data(
            Namespace="AWS/SageMaker",
            MetricData=[
                {"MetricName": "ModelLatency", "Value": float(v), "Timestamp": start}
                for v in range(1, 101)
            ],
        )
        found = cloudwatch.get_metric_data(
            MetricDataQueries=[
                {"Id": f"p{p}", "MetricStat": {"Metric": metric, "Period": 60, "Stat": f"p{p}"}}
                for p in (50, 99)
            ]
            + [{"Id": "avg", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Average"}}],
            StartTime=start,
            EndTime=start + timedelta(minutes=1),
        )["MetricDataResults"]
    assert {r["Id"]: r["Values"] for r in found} == {"p50": [50.0], "p99": [99.0], "avg": [50.5]}
