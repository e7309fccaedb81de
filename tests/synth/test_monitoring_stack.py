"""Drift monitoring in the templates: Prod monitors, Staging does not; baselines as assets."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest

from bundler.baseline.documents import schema
from ops.emulator import data_capture
from stacks.metadata import read_monitoring
from stacks.templates import read_assembly
from tests.conftest import Synthesized
from tests.templates import only, only_properties, resources, statements_by_sid

JOB = "AWS::SageMaker::DataQualityJobDefinition"
SCHEDULE = "AWS::SageMaker::MonitoringSchedule"
IRIS = ("sepal_length", "sepal_width", "petal_length", "petal_width")


def props(synth: Synthesized, stack: str, kind: str) -> dict[str, Any]:
    return only_properties(synth.templates[stack], kind)


@pytest.mark.parametrize("stack", ["Staging-iris", "Staging-digits"])
def test_staging_does_not_monitor(synth: Synthesized, stack: str) -> None:
    template = synth.templates[stack]
    assert not resources(template, JOB) and not resources(template, SCHEDULE)
    assert read_monitoring(template) is None


def test_the_job_definition_is_isolated_encrypted_and_publishes_metrics(
    synth: Synthesized,
) -> None:
    job = props(synth, "Prod-iris", JOB)
    key_logical, _ = only(synth.templates["Prod-iris"], "AWS::KMS::Key")
    stack_key = {"Fn::GetAtt": [key_logical, "Arn"]}
    app = job["DataQualityAppSpecification"]
    assert app["Environment"] == {"publish_cloudwatch_metrics": "Enabled"}
    assert app["ImageUri"].endswith(
        ".dkr.ecr.eu-west-1.amazonaws.com/sagemaker-model-monitor-analyzer"
    )
    assert job["NetworkConfig"] == {
        "EnableInterContainerTrafficEncryption": True,
        "EnableNetworkIsolation": True,
    }
    assert job["JobResources"]["ClusterConfig"]["VolumeKmsKeyId"] == stack_key
    assert job["DataQualityJobOutputConfig"]["KmsKeyId"] == stack_key
    assert job["DataQualityJobInput"]["EndpointInput"]["EndpointName"] == "prod-iris"


def test_the_schedule_runs_hourly_on_the_endpoint(synth: Synthesized) -> None:
    _, schedule = only(synth.templates["Prod-iris"], SCHEDULE)
    config = schedule["Properties"]["MonitoringScheduleConfig"]
    assert schedule["Properties"]["MonitoringScheduleName"] == "prod-iris-dq"
    assert config["ScheduleConfig"] == {"ScheduleExpression": "cron(0 * ? * * *)"}
    assert config["MonitoringType"] == "DataQuality"
    endpoint, _ = only(synth.templates["Prod-iris"], "AWS::SageMaker::Endpoint")
    assert endpoint in schedule["DependsOn"]


def test_one_drift_alarm_per_feature_pages(synth: Synthesized) -> None:
    template = synth.templates["Prod-iris"]
    alarms = {
        a["Properties"]["MetricName"]: a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == "aws/sagemaker/Endpoints/data-metrics"
    }
    assert sorted(alarms) == sorted(f"feature_baseline_drift_{f}" for f in IRIS)
    topic, _ = only(template, "AWS::SNS::Topic")
    for alarm in alarms.values():
        assert alarm["Dimensions"] == [
            {"Name": "Endpoint", "Value": "prod-iris"},
            {"Name": "MonitoringSchedule", "Value": "prod-iris-dq"},
        ]
        assert (alarm["Threshold"], alarm["Period"]) == (0.1, 3600)
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["AlarmActions"] == [{"Ref": topic}]
    digits = synth.templates["Prod-digits"]
    drift = [
        a
        for a in resources(digits, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == "aws/sagemaker/Endpoints/data-metrics"
    ]
    assert len(drift) == 64


def test_failed_and_violating_executions_page(synth: Synthesized) -> None:
    template = synth.templates["Prod-iris"]
    schedule, _ = only(template, SCHEDULE)
    topic, _ = only(template, "AWS::SNS::Topic")
    rules = [
        r["Properties"]
        for r in resources(template, "AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("detail-type")
        == ["SageMaker Processing Job State Change"]
    ]
    assert len(rules) == 2
    details = [r["EventPattern"]["detail"] for r in rules]
    for detail in details:
        assert detail["MonitoringScheduleArn"] == [
            {"Fn::GetAtt": [schedule, "MonitoringScheduleArn"]}
        ]
    assert any(d.get("ProcessingJobStatus") == ["Failed"] for d in details)
    assert any(d.get("ExitMessage") == [{"prefix": "CompletedWithViolations"}] for d in details)
    assert all(r["Targets"][0]["Arn"] == {"Ref": topic} for r in rules)


def test_the_job_role_reads_capture_and_baseline_and_writes_results_only(
    synth: Synthesized,
) -> None:
    statements = statements_by_sid(synth.templates["Prod-iris"], prefix="DataQualityRole")
    assert set(statements) == {
        "ListCapturedData",
        "ReadCapturedDataAndBaseline",
        "WriteResults",
        "UseStackKey",
        "PublishDataMetrics",
        "WriteJobLogs",
    }
    assert statements["PublishDataMetrics"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "aws/sagemaker/Endpoints/data-metrics"}
    }
    assert statements["WriteResults"]["Action"] == "s3:PutObject"
    read = json.dumps(statements["ReadCapturedDataAndBaseline"]["Resource"])
    assert "/data-capture/prod-iris/*" in read and read.count(".json") == 2


@pytest.mark.parametrize("stack", ["Prod-iris", "Prod-digits"])
def test_captures_land_once_under_the_endpoint_as_text(synth: Synthesized, stack: str) -> None:
    """The stack's DataCaptureConfig, read as SageMaker's documented capture reads it (the
    emulator's `data_capture`): objects go to data-capture/<endpoint>/<variant>/..., inside what
    the monitoring role may read, and a JSON request is recorded as JSON text, not BASE64."""
    config = dict(props(synth, stack, "AWS::SageMaker::EndpointConfig")["DataCaptureConfig"])
    separator, parts = config["DestinationS3Uri"]["Fn::Join"]
    config["DestinationS3Uri"] = separator.join(
        "artifacts" if isinstance(part, dict) else part
        for part in parts  # the bucket's Ref
    )
    settings = data_capture.settings_of(config)
    assert settings is not None and settings.bucket == "artifacts"
    endpoint = props(synth, stack, "AWS::SageMaker::Endpoint")["EndpointName"]
    at = datetime(2024, 5, 1, 12, tzinfo=UTC)
    folder = data_capture.hour_prefix(settings, endpoint, "primary", at)
    assert folder == f"data-capture/{endpoint}/primary/2024/05/01/12"
    read = json.dumps(statements_by_sid(synth.templates[stack], prefix="DataQualityRole"))
    assert f"/data-capture/{endpoint}/*" in read
    exchange = data_capture.Exchange(
        endpoint=endpoint,
        variant="primary",
        request=b'{"instances": [[1.0]]}',
        request_type="application/json",
        response=b'{"predictions": []}',
        response_type="application/json",
        at=at,
    )
    record = data_capture.record(exchange, settings, event_id="e")["captureData"]
    assert {side["encoding"] for side in record.values()} == {"JSON"}


@pytest.mark.parametrize(("stack", "count"), [("Prod-iris", 4), ("Prod-digits", 64)])
def test_metadata_names_the_baseline_assets_in_the_assembly(
    synth: Synthesized, stack: str, count: int
) -> None:
    found = {s.name: s for s in read_assembly(synth.outdir)}[stack].monitoring
    assert found is not None
    assert (found.schedule_name, found.drift_threshold) == (f"{stack.lower()}-dq", 0.1)
    assert len(found.features) == count
    statistics = json.loads((synth.outdir / found.statistics).read_text())
    constraints = json.loads((synth.outdir / found.constraints).read_text())
    jsonschema.validate(statistics, schema("statistics"))
    jsonschema.validate(constraints, schema("constraints"))
    assert [f["name"] for f in statistics["features"]] == list(found.features)
    assert (
        constraints["monitoring_config"]["distribution_constraints"]["comparison_threshold"] == 0.1
    )
    job = props(synth, stack, JOB)["DataQualityBaselineConfig"]
    assert job["StatisticsResource"]["S3Uri"].endswith(found.statistics.removeprefix("asset."))
    assert job["ConstraintsResource"]["S3Uri"].endswith(found.constraints.removeprefix("asset."))


def test_iris_baseline_is_the_four_measurements(synth: Synthesized) -> None:
    found = {s.name: s for s in read_assembly(synth.outdir)}["Prod-iris"].monitoring
    assert found is not None and found.features == IRIS
