"""Alarms, the paging topic, the execution role's view of the rollback alarms, the key and the
dashboard, in the synthesized templates."""

from __future__ import annotations

import json
from typing import Any

import pytest

from configs.alarms import Alarms
from stacks.constructs.alarms import ALARM_METRICS, INSTANCE_NAMESPACE, vcpus
from tests.conftest import Synthesized
from tests.templates import alarms_by_name, only, only_properties, policy_statements, resources

STACKS = ["Staging-iris", "Prod-iris"]


@pytest.mark.parametrize("stack", STACKS)
def test_default_alarms_per_variant(synth: Synthesized, stack: str) -> None:
    env = stack.split("-")[0].lower()
    found = {n: a for n, a in alarms_by_name(synth.templates[stack]).items() if "-dq-" not in n}
    prefix = f"{env}-iris-primary-"
    assert set(found) == {
        prefix + name
        for name in (
            "error-rate-5xx",
            "model-latency-p99",
            "overhead-latency-p99",
            "cpu-utilization",
            "memory-utilization",
            "disk-utilization",
        )
    }, "4XX is off by default"


def test_error_rate_is_metric_math_over_invocations(synth: Synthesized) -> None:
    alarm = alarms_by_name(synth.templates["Prod-iris"])["prod-iris-primary-error-rate-5xx"]
    assert alarm["Threshold"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    metrics = {m["Id"]: m for m in alarm["Metrics"]}
    expression = next(m for m in metrics.values() if "Expression" in m)
    assert expression["Expression"] == "IF(invocations > 0, 100 * errors / invocations, 0)"
    assert metrics["errors"]["MetricStat"]["Metric"]["MetricName"] == "Invocation5XXErrors"
    assert metrics["invocations"]["MetricStat"]["Metric"]["MetricName"] == "Invocations"
    for name in ("errors", "invocations"):
        stat = metrics[name]["MetricStat"]
        assert stat["Stat"] == "Sum" and stat["Period"] == 60
        assert {d["Name"] for d in stat["Metric"]["Dimensions"]} == {"EndpointName", "VariantName"}


def test_latency_alarms_watch_the_config_being_rolled_out(synth: Synthesized) -> None:
    template = synth.templates["Prod-iris"]
    config_id, _ = only(template, "AWS::SageMaker::EndpointConfig")
    found = alarms_by_name(template)
    for name, metric, threshold in (
        ("prod-iris-primary-model-latency-p99", "ModelLatency", 500_000),
        ("prod-iris-primary-overhead-latency-p99", "OverheadLatency", 100_000),
    ):
        alarm = found[name]
        assert alarm["MetricName"] == metric
        assert alarm["Namespace"] == "AWS/SageMaker"
        assert alarm["ExtendedStatistic"] == "p99"
        assert alarm["Threshold"] == threshold, "milliseconds in config, microseconds in metric"
        assert alarm["TreatMissingData"] == "notBreaching"
        assert {
            "Name": "EndpointConfigName",
            "Value": {"Fn::GetAtt": [config_id, "EndpointConfigName"]},
        } in alarm["Dimensions"]


def test_instance_alarms_use_the_instance_namespace(synth: Synthesized) -> None:
    found = alarms_by_name(synth.templates["Prod-iris"])
    cpu = found["prod-iris-primary-cpu-utilization"]
    assert cpu["Namespace"] == "/aws/sagemaker/Endpoints"
    assert cpu["Threshold"] == 90 * vcpus("ml.m5.large") == 180
    assert cpu["TreatMissingData"] == "missing"
    assert cpu["EvaluationPeriods"] == 5
    assert found["prod-iris-primary-disk-utilization"]["Threshold"] == 80


def test_every_alarm_has_one_registry_entry() -> None:
    rules = Alarms().rules()
    assert list(ALARM_METRICS) == list(rules), "one entry per alarm key, in the config's order"
    for key, rule in rules.items():
        measures_instances = ALARM_METRICS[key].namespace == INSTANCE_NAMESPACE
        assert rule.instance_only == measures_instances, key


def test_vcpus_from_the_instance_size() -> None:
    assert [
        vcpus(t) for t in ("ml.t2.medium", "ml.m5.large", "ml.c5.xlarge", "ml.g5.12xlarge")
    ] == [
        2,
        2,
        4,
        48,
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_paging_alarms_notify_on_alarm_and_ok(synth: Synthesized, stack: str) -> None:
    template = synth.templates[stack]
    topic = {"Ref": only(template, "AWS::SNS::Topic")[0]}
    for name, alarm in alarms_by_name(template).items():
        assert alarm["AlarmActions"] == [topic], name
        assert alarm["OKActions"] == [topic], name


@pytest.mark.parametrize("stack", STACKS)
def test_paging_topic_is_encrypted_and_ssl_only(synth: Synthesized, stack: str) -> None:
    template = synth.templates[stack]
    topic = only_properties(template, "AWS::SNS::Topic")
    key_id, key = only(template, "AWS::KMS::Key")
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    statements = only_properties(template, "AWS::SNS::TopicPolicy")["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )
    cloudwatch = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert len(cloudwatch) == 1
    assert sorted(cloudwatch[0]["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]


def test_subscriptions_come_from_the_environment(synth: Synthesized) -> None:
    prod = resources(synth.templates["Prod-iris"], "AWS::SNS::Subscription")
    assert [(s["Properties"]["Protocol"], s["Properties"]["Endpoint"]) for s in prod.values()] == [
        ("email", "ml-oncall@example.com")
    ]
    assert not resources(synth.templates["Staging-iris"], "AWS::SNS::Subscription")


def test_https_paging_endpoints_subscribe(project_copy: Any, tmp_path: Any) -> None:
    import yaml

    from tests.conftest import synthesize, write_yaml

    path = project_copy / "configs" / "staging.yaml"
    data = yaml.safe_load(path.read_text())
    data["paging"] = {
        "emails": ["oncall@example.com"],
        "https": ["https://events.pagerduty.example/integration/abc"],
    }
    write_yaml(path, data)
    built = synthesize(
        project_copy, tmp_path / "out", tmp_path / "bundles", stacks=("Staging-iris",)
    )
    subscriptions = resources(built.templates["Staging-iris"], "AWS::SNS::Subscription")
    assert sorted(
        (s["Properties"]["Protocol"], s["Properties"]["Endpoint"]) for s in subscriptions.values()
    ) == [
        ("email", "oncall@example.com"),
        ("https", "https://events.pagerduty.example/integration/abc"),
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_execution_role_describes_exactly_the_rollback_alarms(
    synth: Synthesized, stack: str
) -> None:
    template = synth.templates[stack]
    deployment = only_properties(template, "AWS::SageMaker::Endpoint")["DeploymentConfig"]
    rollback = [a["AlarmName"] for a in deployment["AutoRollbackConfiguration"]["Alarms"]]
    (statement,) = [
        s
        for s in policy_statements(template, prefix="ExecutionRole")
        if "cloudwatch:DescribeAlarms" in json.dumps(s["Action"])
    ]
    assert statement["Action"] == "cloudwatch:DescribeAlarms"
    resources = json.dumps(statement["Resource"])
    assert len(statement["Resource"]) == len(rollback) == 2
    for name in rollback:
        assert f":alarm:{name}" in resources


@pytest.mark.parametrize("stack", STACKS)
def test_key_is_retained_rotated_and_pinned(synth: Synthesized, stack: str) -> None:
    """The key encrypts captured data: renaming it would orphan that data. Change with care."""
    keys = resources(synth.templates[stack], "AWS::KMS::Key")
    assert list(keys) == ["EncryptionKey514CDF8F"]
    key = keys["EncryptionKey514CDF8F"]
    assert key["DeletionPolicy"] == key["UpdateReplacePolicy"] == "Retain"
    assert key["Properties"]["EnableKeyRotation"] is True


@pytest.mark.parametrize("stack", STACKS)
def test_dashboard_shows_traffic_errors_latency_utilisation_and_alarms(
    synth: Synthesized, stack: str
) -> None:
    template = synth.templates[stack]
    dashboard = only_properties(template, "AWS::CloudWatch::Dashboard")
    env = stack.split("-")[0].lower()
    assert dashboard["DashboardName"] == f"{env}-iris"
    body = json.dumps(dashboard["DashboardBody"])
    for text in (
        "Invocations",
        "Invocation5XXErrors",
        "Invocation4XXErrors",
        "ModelLatency",
        "p99",
        "p50",
        "OverheadLatency",
        "CPUUtilization",
        "MemoryUtilization",
        "DiskUtilization",
        "Alarms",
    ):
        assert text in body, text
    for logical, alarm in resources(template, "AWS::CloudWatch::Alarm").items():
        if alarm["Properties"].get("Namespace") == "aws/sagemaker/Endpoints/data-metrics":
            continue  # drift alarms (Prod) page on their own; not yet on the dashboard
        assert logical in body, "every endpoint alarm is on the alarm-status widget"
