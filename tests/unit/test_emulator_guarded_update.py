"""An endpoint update under a DeploymentConfig, through CloudFormation in the emulator.

ExecuteChangeSet answers while the deployment bakes (the stack shows UPDATE_IN_PROGRESS); the
new fleet's model server starts before traffic moves; the alarm that watches the new fleet is
updated before the endpoint moves; a completed update deletes the replaced Model and
EndpointConfig in its cleanup; a rolled-back one fails the Endpoint with SageMaker's
FailureReason, rolls the stack back and keeps the old config. Model servers are stand-ins here.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.sagemaker.models import sagemaker_backends

from ops.emulator import behaviours, clock, guardrails, model_servers
from ops.emulator.extensions import installed
from ops.verify import Verifier
from stacks.templates import StackTemplate
from tests.emulator_support import StandInEndpoint

SSM_VERSION = "/cdk-bootstrap/hnb659fds/version"
ROLE = "arn:aws:iam::123456789012:role/sagemaker"
ALARM = "staging-iris-error-rate"
# 600 AWS seconds of canary bake pass in one real second.
SCALE = 600.0


class StandInServer:
    invocations_url = "http://127.0.0.1:9/invocations"

    def __init__(self, archive: Path) -> None:
        self.archive = archive.read_bytes()

    def stop(self) -> None:
        pass


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[bytes]:
    """The archives whose model servers were started, in order."""
    archives: list[bytes] = []

    def start(archive: Path, environment: dict[str, str]) -> StandInServer:
        server = StandInServer(archive)
        archives.append(server.archive)
        return server

    monkeypatch.setattr(model_servers, "start_model_server", start)
    monkeypatch.setattr(model_servers, "_pool", model_servers.ServerPool(2, tmp_path))
    return archives


@pytest.fixture
def aws(
    aws_credentials: None, monkeypatch: pytest.MonkeyPatch, servers: list[bytes]
) -> Iterator[None]:
    monkeypatch.setattr(clock, "_clock", clock.ScaledClock(SCALE))
    with installed(), behaviours.installed(), mock_aws():
        boto3.client("ssm").put_parameter(Name=SSM_VERSION, Value="30", Type="String")
        s3 = boto3.client("s3")
        s3.create_bucket(
            Bucket="bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        for name in ("a", "b", "c"):
            s3.put_object(Bucket="bucket", Key=f"{name}.tar.gz", Body=f"bundle {name}".encode())
        yield


def template(model_url: str) -> str:
    config = {"Fn::GetAtt": ["Config", "EndpointConfigName"]}
    resources: dict[str, Any] = {
        "Model": {
            "Type": "AWS::SageMaker::Model",
            "Properties": {
                "ExecutionRoleArn": ROLE,
                "PrimaryContainer": {"Image": "img", "ModelDataUrl": model_url},
            },
        },
        "Config": {
            "Type": "AWS::SageMaker::EndpointConfig",
            "Properties": {
                "ProductionVariants": [
                    {
                        "VariantName": "primary",
                        "ModelName": {"Fn::GetAtt": ["Model", "ModelName"]},
                        "InstanceType": "ml.m5.large",
                        "InitialInstanceCount": 2,
                        "InitialVariantWeight": 1.0,
                    }
                ]
            },
        },
        "Endpoint": {
            "Type": "AWS::SageMaker::Endpoint",
            "Properties": {
                "EndpointName": "staging-iris",
                "EndpointConfigName": config,
                "DeploymentConfig": {
                    "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": ALARM}]},
                    "BlueGreenUpdatePolicy": {
                        "TrafficRoutingConfiguration": {
                            "Type": "CANARY",
                            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
                            "WaitIntervalInSeconds": 600,
                        },
                        "TerminationWaitInSeconds": 0,
                        # The API's largest (48 s here, SCALE 600): the two bakes take 2 s, and
                        # the 3600 s default (6 s) ran out on a loaded machine before they ended.
                        "MaximumExecutionTimeoutInSeconds": 28800,
                    },
                },
            },
        },
        "Alarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": ALARM,
                "Namespace": "AWS/SageMaker",
                "MetricName": "Invocation5XXErrors",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": "staging-iris"},
                    {"Name": "EndpointConfigName", "Value": config},
                ],
                "Statistic": "Sum",
                "Period": 60,
                "EvaluationPeriods": 1,
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
            },
        },
    }
    parameters = {
        "BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": SSM_VERSION}
    }
    return json.dumps({"Parameters": parameters, "Resources": resources})


def execute(stack: str, body: str) -> None:
    """What the CDK CLI does, up to ExecuteChangeSet (which answers before the update ends)."""
    client = boto3.client("cloudformation")
    exists = any(s["StackName"] == stack for s in client.describe_stacks()["Stacks"])
    client.create_change_set(
        StackName=stack,
        ChangeSetName="cdk-deploy-change-set",
        ChangeSetType="UPDATE" if exists else "CREATE",
        TemplateBody=body,
        Parameters=[{"ParameterKey": "BootstrapVersion", "UsePreviousValue": True}]
        if exists
        else [],
    )
    client.execute_change_set(StackName=stack, ChangeSetName="cdk-deploy-change-set")


def status(stack: str) -> str:
    described = boto3.client("cloudformation").describe_stacks(StackName=stack)
    return str(described["Stacks"][0]["StackStatus"])


def settle(stack: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while status(stack).endswith("_IN_PROGRESS") and time.monotonic() < deadline:
        time.sleep(0.05)
    return status(stack)


def alarm_config() -> str:
    (alarm,) = boto3.client("cloudwatch").describe_alarms(AlarmNames=[ALARM])["MetricAlarms"]
    return str(next(d["Value"] for d in alarm["Dimensions"] if d["Name"] == "EndpointConfigName"))


def events(stack: str) -> list[dict[str, Any]]:
    found = boto3.client("cloudformation").describe_stack_events(StackName=stack)
    return list(reversed(found["StackEvents"]))


def baking(sagemaker: Any) -> dict[str, Any]:
    """The new fleet's VariantStatus once it bakes (PendingDeploymentSummary)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        summary = sagemaker.describe_endpoint(EndpointName="staging-iris").get(
            "PendingDeploymentSummary", {}
        )
        (variant,) = summary.get("ProductionVariants") or [{"VariantStatus": [{}]}]
        stage: dict[str, Any] = variant["VariantStatus"][0]
        if stage.get("Status") == "Baking":
            assert variant["VariantName"] == "primary"
            return stage
        time.sleep(0.01)
    raise AssertionError("the new fleet never baked")


def test_a_canary_update_answers_at_once_and_completes_after_its_bakes(
    aws: None, servers: list[bytes]
) -> None:
    sagemaker = boto3.client("sagemaker")
    execute("Staging-iris", template("s3://bucket/a.tar.gz"))
    assert status("Staging-iris") == "CREATE_COMPLETE"
    old = sagemaker.describe_endpoint(EndpointName="staging-iris")["EndpointConfigName"]

    started = time.monotonic()
    execute("Staging-iris", template("s3://bucket/b.tar.gz"))
    assert status("Staging-iris") == "UPDATE_IN_PROGRESS"
    endpoint = sagemaker.describe_endpoint(EndpointName="staging-iris")
    assert endpoint["EndpointStatus"] == "Updating"
    new = endpoint["PendingDeploymentSummary"]["EndpointConfigName"]
    assert alarm_config() == new  # the alarm watches the new fleet before traffic moves
    deadline = time.monotonic() + 5
    while not servers and time.monotonic() < deadline:
        time.sleep(0.01)
    assert servers == [b"bundle b"]  # the new fleet starts while the stack update waits
    stage = baking(sagemaker)
    assert stage["StatusMessage"] == "canary: 10% of traffic, baking 600 s"
    with pytest.raises(ClientError, match="UPDATE_IN_PROGRESS state and can not be updated"):
        execute("Staging-iris", template("s3://bucket/c.tar.gz"))

    assert settle("Staging-iris") == "UPDATE_COMPLETE"
    assert time.monotonic() - started >= 2 * 600 / SCALE  # canary bake + final bake
    endpoint = sagemaker.describe_endpoint(EndpointName="staging-iris")
    assert (endpoint["EndpointStatus"], endpoint["EndpointConfigName"]) == ("InService", new)
    with pytest.raises(ClientError):  # deleted in the cleanup, once the endpoint had moved
        sagemaker.describe_endpoint_config(EndpointConfigName=old)
    assert len(sagemaker.list_models()["Models"]) == 1
    statuses = [e["ResourceStatus"] for e in events("Staging-iris") if e["ResourceType"]]
    assert statuses[-2:] == ["UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE"]


def test_a_rolled_back_update_fails_the_endpoint_and_rolls_the_stack_back(aws: None) -> None:
    sagemaker = boto3.client("sagemaker")
    execute("Staging-iris", template("s3://bucket/a.tar.gz"))
    old = sagemaker.describe_endpoint(EndpointName="staging-iris")["EndpointConfigName"]
    boto3.client("cloudwatch").set_alarm_state(
        AlarmName=ALARM, StateValue="ALARM", StateReason="errors on the new fleet"
    )

    execute("Staging-iris", template("s3://bucket/b.tar.gz"))
    assert settle("Staging-iris") == "UPDATE_ROLLBACK_COMPLETE"

    endpoint = sagemaker.describe_endpoint(EndpointName="staging-iris")
    assert (endpoint["EndpointStatus"], endpoint["EndpointConfigName"]) == ("InService", old)
    assert ALARM in endpoint["FailureReason"]
    (failed,) = [e for e in events("Staging-iris") if e["ResourceStatus"] == "UPDATE_FAILED"]
    assert failed["LogicalResourceId"] == "Endpoint"
    assert "rolled back" in failed["ResourceStatusReason"]
    assert ALARM in failed["ResourceStatusReason"]
    # The old config and model are kept, their replacements deleted; the alarm watches the old
    # fleet again.
    configs = sagemaker.list_endpoint_configs()["EndpointConfigs"]
    assert [c["EndpointConfigName"] for c in configs] == [old]
    models = sagemaker.list_models()["Models"]
    assert len(models) == 1
    model = sagemaker.describe_model(ModelName=models[0]["ModelName"])
    assert model["PrimaryContainer"]["ModelDataUrl"] == "s3://bucket/a.tar.gz"
    assert alarm_config() == old
    statuses = [
        e["ResourceStatus"]
        for e in events("Staging-iris")
        if not e["LogicalResourceId"] or e["LogicalResourceId"] == "Staging-iris"
    ]
    assert statuses[-3:] == [
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE",
    ]


def test_a_new_fleet_that_does_not_start_rolls_the_update_back(aws: None) -> None:
    execute("Staging-iris", template("s3://bucket/a.tar.gz"))
    execute("Staging-iris", template("s3://bucket/missing.tar.gz"))
    assert settle("Staging-iris") == "UPDATE_ROLLBACK_COMPLETE"
    (failed,) = [e for e in events("Staging-iris") if e["ResourceStatus"] == "UPDATE_FAILED"]
    assert "the new fleet did not start" in failed["ResourceStatusReason"]
    assert "missing.tar.gz does not exist" in failed["ResourceStatusReason"]


class Instant:
    """A clock whose waits take no time."""

    scale = 60.0

    def now(self) -> datetime:
        return datetime(2024, 5, 1, tzinfo=UTC)

    def wait(self, aws_seconds: float, *, stop: threading.Event | None = None) -> bool:
        return False


@pytest.mark.parametrize("starts", [True, False])
def test_the_new_fleet_is_provisioned_before_traffic_moves(starts: bool) -> None:
    shares: list[float] = []

    def provision() -> None:
        shares.append(deployment.share)
        if not starts:
            raise RuntimeError("health check failed")

    deployment = guardrails.Deployment(
        endpoint=StandInEndpoint(),
        old_config="config-a",
        new_config="config-b",
        deployment_config={},
        new_instances=1,
        clock=Instant(),
        alarm_states=lambda names: {},
        provision=provision,
    )
    outcome = deployment.run()
    assert shares == [0.0]
    kinds = [e.kind for e in deployment.events]
    if starts:
        assert outcome == "completed" and kinds[:3] == ["started", "provisioned", "shifted"]
    else:
        assert outcome == "rolled-back" and "shifted" not in kinds
        assert "health check failed" in str(deployment.endpoint.failure_reason)


# --------------------------------------------------------------------------------------------
# `ops verify` names the alarm whichever way CloudFormation reports SageMaker's rollback.


def verify(body: str) -> list[str]:
    stack = StackTemplate("Staging-iris", Path("Staging-iris.template.json"), json.loads(body))
    verifier = Verifier(boto3.Session(), root=Path())
    return verifier.check(stack, "eu-west-1", smoke=False).problems


def test_verify_names_the_alarm_when_the_stack_rolled_back(aws: None) -> None:
    execute("Staging-iris", template("s3://bucket/a.tar.gz"))
    boto3.client("cloudwatch").set_alarm_state(
        AlarmName=ALARM, StateValue="ALARM", StateReason="errors on the new fleet"
    )
    execute("Staging-iris", template("s3://bucket/b.tar.gz"))
    assert settle("Staging-iris") == "UPDATE_ROLLBACK_COMPLETE"
    problems = verify(template("s3://bucket/b.tar.gz"))
    assert "stack `Staging-iris` is UPDATE_ROLLBACK_COMPLETE" in problems
    (rolled,) = [p for p in problems if p.startswith("rolled back:")]
    assert f"alarm(s) that fired: `{ALARM}`" in rolled


def test_verify_names_the_alarm_after_a_silent_rollback(aws: None) -> None:
    """CloudFormation says UPDATE_COMPLETE, but the endpoint is on another config: the alarm
    that fired is found in alarm history although it is OK again."""
    execute("Staging-iris", template("s3://bucket/a.tar.gz"))
    execute("Staging-iris", template("s3://bucket/b.tar.gz"))
    assert settle("Staging-iris") == "UPDATE_COMPLETE"
    cloudwatch = boto3.client("cloudwatch")
    for state in ("ALARM", "OK"):
        cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue=state, StateReason="drill")
    endpoint = sagemaker_backends["123456789012"]["eu-west-1"].endpoints["staging-iris"]
    endpoint.endpoint_config_name = "staging-iris-previous"
    (silent,) = verify(template("s3://bucket/b.tar.gz"))
    assert silent.startswith("silent rollback: `staging-iris` is InService on")
    assert f"alarm(s) that fired: `{ALARM}`" in silent
