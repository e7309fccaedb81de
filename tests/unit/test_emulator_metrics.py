"""SageMaker's invocation metrics as the emulator publishes them into its own CloudWatch."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from ops.emulator import metrics, model_servers
from ops.emulator.clock import DEFAULT_SCALE, ScaledClock, TimeScaleError, scale_from
from tests.emulator_support import (
    REGION,
    FakeModelServer,
    bootstrapped,
    deploy,
    sagemaker_resources,
    template,
)

ACCOUNT = "123456789012"
AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def aws(aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
    with mock_aws():
        yield


def invocation(status: int | None, *, config: str = "config-a") -> metrics.Invocation:
    return metrics.Invocation(
        endpoint_name="prod-iris",
        variant_name="primary",
        endpoint_config_name=config,
        model_status=status,
        model_seconds=0.020 if status is not None else None,
        total_seconds=0.025,
        instance_count=2,
    )


def test_values_follow_sagemakers_metric_table() -> None:
    ok = dict((name, value) for name, value, _ in metrics.values(invocation(200)))
    assert ok == {
        "Invocations": 1.0,
        "Invocation4XXErrors": 0.0,
        "Invocation5XXErrors": 0.0,
        "InvocationModelErrors": 0.0,
        "InvocationsPerInstance": 0.5,
        "ModelLatency": pytest.approx(20_000),  # microseconds
        "OverheadLatency": pytest.approx(5_000),
    }
    failed = dict((name, value) for name, value, _ in metrics.values(invocation(500)))
    assert (failed["Invocation5XXErrors"], failed["Invocation4XXErrors"]) == (1.0, 0.0)
    assert failed["InvocationModelErrors"] == 1.0
    client = dict((name, value) for name, value, _ in metrics.values(invocation(400)))
    assert (client["Invocation5XXErrors"], client["Invocation4XXErrors"]) == (0.0, 1.0)
    silent = dict((name, value) for name, value, _ in metrics.values(invocation(None)))
    assert "ModelLatency" not in silent and silent["InvocationModelErrors"] == 1.0


def test_published_with_both_dimension_sets(aws: None) -> None:
    for status in (200, 200, 500):
        metrics.publish(ACCOUNT, REGION, invocation(status), timestamp=AT)
    cloudwatch = boto3.client("cloudwatch")
    listed = cloudwatch.list_metrics(Namespace="AWS/SageMaker")["Metrics"]
    found = {(m["MetricName"], frozenset(d["Name"] for d in m["Dimensions"])) for m in listed}
    plain = frozenset({"EndpointName", "VariantName"})
    fleet = plain | {"EndpointConfigName"}
    assert found == {(name, dims) for name in metrics.INVOCATION_METRICS for dims in (plain, fleet)}

    def total(name: str, *extra: dict[str, str]) -> float:
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/SageMaker",
            MetricName=name,
            Dimensions=[
                {"Name": "EndpointName", "Value": "prod-iris"},
                {"Name": "VariantName", "Value": "primary"},
                *extra,
            ],
            StartTime=AT - timedelta(minutes=1),
            EndTime=AT + timedelta(minutes=1),
            Period=60,
            Statistics=["Sum"],
        )["Datapoints"]
        return float(sum(p["Sum"] for p in points))

    assert total("Invocations") >= 3
    assert total("Invocation5XXErrors", {"Name": "EndpointConfigName", "Value": "config-a"}) == 1


def test_time_scale_is_read_once_and_checked() -> None:
    assert scale_from({}) == DEFAULT_SCALE == 60
    assert scale_from({"EMULATOR_TIME_SCALE": "1"}) == 1
    for bad in ("0", "-5", "fast", "inf"):
        with pytest.raises(TimeScaleError, match="EMULATOR_TIME_SCALE"):
            scale_from({"EMULATOR_TIME_SCALE": bad})
    clock = ScaledClock(600.0)
    assert clock.wait(60) is False  # an AWS minute: a tenth of a second here


def test_invoke_endpoint_publishes_what_sagemaker_would(
    aws_credentials: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Through the emulator's InvokeEndpoint: one success and one model 500, counted per fleet."""
    monkeypatch.setattr(model_servers, "start_model_server", lambda a, e: FakeModelServer(a))
    monkeypatch.setattr(model_servers, "_pool", model_servers.ServerPool(1, tmp_path))
    with bootstrapped():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket="bucket", Key="a.tar.gz", Body=b"a")
        deploy("Staging-iris", template(sagemaker_resources("s3://bucket/a.tar.gz")))
        client = boto3.client("sagemaker-runtime")
        client.invoke_endpoint(
            EndpointName="staging-iris", Body=b"{}", ContentType="application/json"
        )
        with pytest.raises(ClientError):
            client.invoke_endpoint(
                EndpointName="staging-iris", Body=b'{"bad": 1}', ContentType="application/json"
            )
        config = boto3.client("sagemaker").describe_endpoint(EndpointName="staging-iris")[
            "EndpointConfigName"
        ]
        cloudwatch = boto3.client("cloudwatch")
        now = datetime.now(UTC)

        def total(name: str) -> float:
            points = cloudwatch.get_metric_statistics(
                Namespace="AWS/SageMaker",
                MetricName=name,
                Dimensions=[
                    {"Name": "EndpointName", "Value": "staging-iris"},
                    {"Name": "VariantName", "Value": "primary"},
                    {"Name": "EndpointConfigName", "Value": config},
                ],
                StartTime=now - timedelta(minutes=5),
                EndTime=now + timedelta(minutes=5),
                Period=600,
                Statistics=["Sum", "SampleCount"],
            )["Datapoints"]
            return float(sum(p["Sum"] for p in points))

        assert total("Invocations") == 2
        assert total("Invocation4XXErrors") == 1  # the fake model answers 400 to "bad"
        assert total("Invocation5XXErrors") == 0
        assert total("ModelLatency") > 0
        model_servers.shutdown()
