"""The alarm evaluator on each alarm shape the stacks produce, with SageMaker's own metrics.

Data comes from `ops.emulator.metrics` (names and dimensions from SageMaker's documentation);
the alarms are written the way the stacks write them. A clock advanced by hand stands in for
time: at the default scale an AWS minute (one alarm period) is one second.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ops.emulator import behaviours, metric_math, metrics
from ops.emulator.alarm_evaluator import Evaluator
from ops.emulator.delivery import read_outbox
from tests.emulator_support import REGION, START, HandClock

ACCOUNT = "123456789012"
ENDPOINT = "prod-iris"


@pytest.fixture
def aws(aws_credentials: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
    monkeypatch.setenv("EMULATOR_OUTBOX", str(tmp_path / "outbox"))
    with behaviours.installed(), mock_aws():
        yield tmp_path / "outbox"


def variant(**extra: str) -> list[dict[str, str]]:
    dims = {"EndpointName": ENDPOINT, "VariantName": "primary", **extra}
    return [{"Name": k, "Value": v} for k, v in dims.items()]


def error_rate_alarm(
    name: str = "error-rate", *, errors: str = "Invocation5XXErrors", **kw: Any
) -> None:
    """The stacks' error-rate alarm: metric math over two Sums, 2 periods, not breaching."""

    def stat(metric: str) -> dict[str, Any]:
        return {
            "Metric": {
                "Namespace": "AWS/SageMaker",
                "MetricName": metric,
                "Dimensions": kw.get("dims", variant()),
            },
            "Period": 60,
            "Stat": "Sum",
        }

    boto3.client("cloudwatch").put_metric_alarm(
        AlarmName=name,
        ComparisonOperator="GreaterThanThreshold",
        EvaluationPeriods=kw.get("periods", 2),
        Threshold=1.0,
        TreatMissingData=kw.get("treat", "notBreaching"),
        AlarmActions=kw.get("actions", []),
        OKActions=kw.get("actions", []),
        Metrics=[
            {
                "Id": "expr_1",
                "Expression": "IF(invocations > 0, 100 * errors / invocations, 0)",
                "ReturnData": True,
            },
            {"Id": "errors", "MetricStat": stat(errors), "ReturnData": False},
            {"Id": "invocations", "MetricStat": stat("Invocations"), "ReturnData": False},
        ],
    )


def latency_alarm(name: str = "latency", *, config: str = "config-b", **kw: Any) -> None:
    """The stacks' latency alarm: p99 ModelLatency of one fleet, microseconds."""
    boto3.client("cloudwatch").put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/SageMaker",
        MetricName="ModelLatency",
        Dimensions=variant(EndpointConfigName=config),
        ExtendedStatistic="p99",
        Period=60,
        EvaluationPeriods=kw.get("periods", 2),
        DatapointsToAlarm=kw.get("datapoints", 2),
        Threshold=500_000,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData=kw.get("treat", "notBreaching"),
    )


def traffic(
    clock: HandClock,
    *,
    requests: int,
    errors: int = 0,
    seconds: float = 0.02,
    config: str = "config-b",
) -> None:
    """One AWS minute of requests (one emulator second), then the clock moves past it."""
    for i in range(requests):
        invocation = metrics.Invocation(
            ENDPOINT, "primary", config, 500 if i < errors else 200, seconds, seconds + 0.001, 2
        )
        at = clock.at + timedelta(seconds=0.9 * i / max(1, requests))
        metrics.publish(ACCOUNT, REGION, invocation, timestamp=at)
    clock.at += timedelta(seconds=1)


def state(name: str) -> str:
    (alarm,) = boto3.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return str(alarm["StateValue"])


def history(name: str, kind: str | None = None) -> list[str]:
    """History summaries, oldest first (the hand clock's and the real clock's items apart)."""
    items = boto3.client("cloudwatch").describe_alarm_history(
        AlarmName=name, ScanBy="TimestampAscending", **({"HistoryItemType": kind} if kind else {})
    )
    return [item["HistorySummary"] for item in items["AlarmHistoryItems"]]


def test_error_rate_alarm_fires_on_errors_and_recovers(aws: Path) -> None:
    clock = HandClock()
    evaluator = Evaluator(clock=clock)
    error_rate_alarm()
    assert state("error-rate") == "INSUFFICIENT_DATA"  # a new alarm, as in CloudWatch
    traffic(clock, requests=20)
    evaluator.evaluate()
    assert state("error-rate") == "OK"
    traffic(clock, requests=20, errors=6)
    evaluator.evaluate()
    assert state("error-rate") == "OK"  # one of two periods breaching is not enough
    traffic(clock, requests=20, errors=6)
    evaluator.evaluate()
    assert state("error-rate") == "ALARM"
    for _ in range(2):
        traffic(clock, requests=20)
        evaluator.evaluate()
    assert state("error-rate") == "OK"
    assert 'Alarm "error-rate" created' in history("error-rate")
    assert history("error-rate", "StateUpdate") == [
        "Alarm updated from INSUFFICIENT_DATA to OK",
        "Alarm updated from OK to ALARM",
        "Alarm updated from ALARM to OK",
    ]
    items = boto3.client("cloudwatch").describe_alarm_history(
        AlarmName="error-rate", HistoryItemType="StateUpdate", MaxRecords=1
    )["AlarmHistoryItems"]
    assert [i["HistorySummary"] for i in items] == ["Alarm updated from ALARM to OK"]
    alarmed = json.loads(
        boto3.client("cloudwatch").describe_alarm_history(
            AlarmName="error-rate", HistoryItemType="StateUpdate"
        )["AlarmHistoryItems"][1]["HistoryData"]
    )
    assert alarmed["newState"]["stateReasonData"]["recentDatapoints"] == [30.0, 30.0]


def test_quiet_endpoint_is_ok_with_not_breaching(aws: Path) -> None:
    clock = HandClock()
    error_rate_alarm()
    clock.at += timedelta(seconds=5)
    Evaluator(clock=clock).evaluate()
    assert state("error-rate") == "OK"


def test_latency_alarm_watches_only_its_fleet(aws: Path) -> None:
    clock = HandClock()
    evaluator = Evaluator(clock=clock)
    latency_alarm(config="config-b")
    for _ in range(3):
        traffic(clock, requests=10, seconds=0.9, config="config-a")  # the old fleet is slow
        traffic(clock, requests=10, seconds=0.01, config="config-b")
        evaluator.evaluate()
    assert state("latency") == "OK"
    for _ in range(2):
        traffic(clock, requests=10, seconds=0.9, config="config-b")
        evaluator.evaluate()
    assert state("latency") == "ALARM"


def test_m_out_of_n(aws: Path) -> None:
    clock = HandClock()
    evaluator = Evaluator(clock=clock)
    latency_alarm(periods=3, datapoints=2)
    for seconds in (0.9, 0.01, 0.9):
        traffic(clock, requests=10, seconds=seconds)
        evaluator.evaluate()
    assert state("latency") == "ALARM"  # 2 of the last 3


@pytest.mark.parametrize(
    ("treat", "expected"),
    [
        ("missing", "INSUFFICIENT_DATA"),
        ("breaching", "ALARM"),
        ("notBreaching", "OK"),
        ("ignore", "INSUFFICIENT_DATA"),
    ],
)
def test_treat_missing_data_without_any_data(aws: Path, treat: str, expected: str) -> None:
    clock = HandClock()
    latency_alarm(treat=treat)
    clock.at += timedelta(seconds=5)
    Evaluator(clock=clock).evaluate()
    assert state("latency") == expected


@pytest.mark.parametrize(
    "mistake",
    [
        {"errors": "Invocation5xxErrors"},  # SageMaker's name is Invocation5XXErrors
        {"dims": variant(Variant="primary")},  # an extra dimension SageMaker does not publish
        {
            "dims": [
                {"Name": "EndpointName", "Value": ENDPOINT},
                {"Name": "Variant", "Value": "primary"},
            ]
        },
    ],
)
@pytest.mark.parametrize("treat", ["notBreaching", "missing"])
def test_alarm_on_a_metric_sagemaker_does_not_publish_never_fires(
    aws: Path, mistake: dict[str, Any], treat: str
) -> None:
    clock = HandClock()
    evaluator = Evaluator(clock=clock)
    error_rate_alarm(treat=treat, **mistake)
    for _ in range(4):
        traffic(clock, requests=20, errors=20)
        evaluator.evaluate()
    assert state("error-rate") == ("OK" if treat == "notBreaching" else "INSUFFICIENT_DATA")
    assert not any("to ALARM" in summary for summary in history("error-rate"))


def test_alarm_actions_publish_the_cloudwatch_notification(aws: Path) -> None:
    sns = boto3.client("sns")
    topic = sns.create_topic(Name="paging")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="oncall@example.com")
    clock = HandClock()
    evaluator = Evaluator(clock=clock)
    error_rate_alarm(actions=[topic])
    for _ in range(2):
        traffic(clock, requests=10, errors=10)
        evaluator.evaluate()
    pages = [m for m in read_outbox(aws) if m["protocol"] == "email"]
    assert [json.loads(p["body"])["NewStateValue"] for p in pages] == ["OK", "ALARM"]
    alarm_page = pages[-1]
    assert alarm_page["subject"] == 'ALARM: "error-rate" in EU (Ireland)'
    message = json.loads(alarm_page["body"])
    assert message["AlarmName"] == "error-rate" and message["OldStateValue"] == "OK"
    assert (
        message["Trigger"]["Metrics"][1]["MetricStat"]["Metric"]["MetricName"]
        == "Invocation5XXErrors"
    )
    assert f"Successfully executed action {topic}" in history("error-rate")


def test_updating_an_alarm_keeps_its_state_and_set_alarm_state_acts(aws: Path) -> None:
    clock = HandClock()
    latency_alarm(treat="breaching")
    clock.at += timedelta(seconds=5)
    Evaluator(clock=clock).evaluate()
    assert state("latency") == "ALARM"
    latency_alarm(treat="breaching", config="config-c")  # CloudFormation updating the alarm
    assert state("latency") == "ALARM"
    boto3.client("cloudwatch").set_alarm_state(
        AlarmName="latency", StateValue="OK", StateReason="test"
    )
    assert history("latency")[-1] == "Alarm updated from ALARM to OK"
    assert 'Alarm "latency" updated' in history("latency")


def test_metric_math() -> None:
    t1, t2 = START, START + timedelta(minutes=1)
    series = {"errors": {t1: 3.0, t2: 0.0}, "invocations": {t1: 10.0}}
    node = metric_math.parse("IF(invocations > 0, 100 * errors / invocations, 0)")
    assert metric_math.evaluate(node, series) == {t1: 30.0}
    assert metric_math.evaluate(metric_math.parse("2 + 3 * 2 ^ 2"), {}) == 14.0
    assert metric_math.evaluate(metric_math.parse("-(1 - 3) >= 2 AND 1"), {}) == 1.0
    assert metric_math.evaluate(metric_math.parse("errors / 0"), series) == {}
    with pytest.raises(metric_math.MathError, match="not supported"):
        metric_math.evaluate(metric_math.parse("FILL(errors, 0)"), series)
    with pytest.raises(metric_math.MathError):
        metric_math.parse("errors +")
