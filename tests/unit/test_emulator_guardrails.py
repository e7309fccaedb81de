"""SageMaker's deployment guardrails in the emulator: each traffic-shifting mode, its bakes and
its rollback, on a clock advanced by hand (no real waiting)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

import boto3
import pytest
from moto import mock_aws

from ops.emulator import guardrails
from tests.emulator_support import HandClock, StandInEndpoint

ALARMS = {"Alarms": [{"AlarmName": "error-rate"}, {"AlarmName": "latency"}]}


AlarmStates = Callable[[list[str]], Mapping[str, str]]


def alarm_after(clock: HandClock, seconds: float | None, name: str = "error-rate") -> AlarmStates:
    """Alarm states: `name` goes to ALARM once `seconds` of AWS time have passed."""

    def states(names: list[str]) -> Mapping[str, str]:
        fired = seconds is not None and clock.aws_seconds() >= seconds
        return {n: "ALARM" if fired and n == name else "OK" for n in names}

    return states


def blue_green(routing: dict[str, Any], **policy: Any) -> dict[str, Any]:
    return {
        "BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": routing, **policy},
        "AutoRollbackConfiguration": ALARMS,
    }


CANARY = blue_green(
    {
        "Type": "CANARY",
        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
        "WaitIntervalInSeconds": 600,
    },
    TerminationWaitInSeconds=300,
    MaximumExecutionTimeoutInSeconds=3600,
)


def deploy(
    config: dict[str, Any], clock: HandClock, alarm_at: float | None, instances: int = 2
) -> tuple[guardrails.Deployment, StandInEndpoint]:
    endpoint = StandInEndpoint()
    deployment = guardrails.Deployment(
        endpoint=endpoint,
        old_config="config-a",
        new_config="config-b",
        deployment_config=config,
        new_instances=instances,
        clock=clock,
        alarm_states=alarm_after(clock, alarm_at),
    )
    deployment.run()
    return deployment, endpoint


def shifts(deployment: guardrails.Deployment) -> list[float]:
    return [e.share for e in deployment.events if e.kind == "shifted"]


def test_steps_of_each_mode() -> None:
    def shares(config: dict[str, Any], instances: int = 4) -> list[float]:
        return [s.share for s in guardrails.steps(config, new_instances=instances)]

    assert shares({}) == [1.0]
    assert shares(blue_green({"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 120})) == [1.0]
    assert shares(CANARY) == [0.1, 1.0]
    count = {"Type": "INSTANCE_COUNT", "Value": 1}
    assert shares(blue_green({"Type": "CANARY", "CanarySize": count})) == [0.25, 1.0]
    linear = {"Type": "LINEAR", "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25}}
    assert shares(blue_green(linear)) == [0.25, 0.5, 0.75, 1.0]
    rolling = {
        "RollingUpdatePolicy": {
            "MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 2},
            "WaitIntervalInSeconds": 60,
        }
    }
    assert shares(rolling, instances=5) == [0.4, 0.8, 1.0]


def test_canary_completes_after_both_bakes_and_the_termination_wait() -> None:
    clock = HandClock()
    deployment, endpoint = deploy(CANARY, clock, alarm_at=None)
    assert deployment.outcome == "completed"
    assert shifts(deployment) == [0.1, 1.0]
    assert [e.kind for e in deployment.events] == [
        "started",
        "shifted",
        "shifted",
        "completed",
        "terminated",
    ]
    assert (endpoint.endpoint_status, endpoint.endpoint_config_name) == ("InService", "config-b")
    assert clock.aws_seconds() == pytest.approx(600 + 600 + 300, abs=0.1)
    assert endpoint.last_deployment_config == CANARY and endpoint.pending_deployment_summary is None


def test_canary_rolls_back_when_an_alarm_fires_during_its_bake() -> None:
    clock = HandClock()
    deployment, endpoint = deploy(CANARY, clock, alarm_at=120)
    assert deployment.outcome == "rolled-back"
    assert shifts(deployment) == [0.1]  # the rest of the traffic never moved
    assert deployment.fired == ["error-rate"]
    assert (endpoint.endpoint_status, endpoint.endpoint_config_name) == ("InService", "config-a")
    assert endpoint.failure_reason and "error-rate" in endpoint.failure_reason
    assert 120 <= clock.aws_seconds() < 600  # caught during the bake, not at its end
    assert deployment.share == 0.0 and deployment.route(lambda: 0.0) == "config-a"


def test_all_at_once_rolls_back_during_its_only_bake() -> None:
    clock = HandClock()
    config = blue_green(
        {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 120}, TerminationWaitInSeconds=0
    )
    deployment, endpoint = deploy(config, clock, alarm_at=60)
    assert shifts(deployment) == [1.0]
    assert deployment.outcome == "rolled-back" and endpoint.endpoint_config_name == "config-a"


def test_linear_stops_at_the_step_whose_bake_sees_the_alarm() -> None:
    clock = HandClock()
    linear = {
        "Type": "LINEAR",
        "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
        "WaitIntervalInSeconds": 300,
    }
    deployment, _ = deploy(blue_green(linear), clock, alarm_at=700)
    assert shifts(deployment) == [0.25, 0.5, 0.75]
    assert deployment.outcome == "rolled-back"


def test_maximum_execution_timeout_rolls_back() -> None:
    clock = HandClock()
    slow = dict(CANARY)
    slow["BlueGreenUpdatePolicy"] = {
        **CANARY["BlueGreenUpdatePolicy"],
        "MaximumExecutionTimeoutInSeconds": 900,
    }
    deployment, endpoint = deploy(slow, clock, alarm_at=None)
    assert deployment.outcome == "rolled-back"
    assert endpoint.failure_reason and "MaximumExecutionTimeoutInSeconds" in endpoint.failure_reason
    assert clock.aws_seconds() == pytest.approx(900, abs=0.1)


def test_rolling_batches_and_rollback() -> None:
    rolling = {
        "RollingUpdatePolicy": {
            "MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 50},
            "WaitIntervalInSeconds": 120,
            "MaximumExecutionTimeoutInSeconds": 1800,
        },
        "AutoRollbackConfiguration": ALARMS,
    }
    clock = HandClock()
    completed, _ = deploy(rolling, clock, alarm_at=None)
    assert shifts(completed) == [0.5, 1.0] and completed.outcome == "completed"
    clock = HandClock()
    rolled, endpoint = deploy(rolling, clock, alarm_at=150)
    assert shifts(rolled) == [0.5, 1.0] and rolled.outcome == "rolled-back"
    assert endpoint.endpoint_config_name == "config-a"


def test_routing_follows_the_share() -> None:
    deployment = guardrails.Deployment(
        endpoint=StandInEndpoint(),
        old_config="a",
        new_config="b",
        deployment_config=CANARY,
        new_instances=2,
        clock=HandClock(),
        alarm_states=lambda names: {},
        share=0.1,
    )
    assert [deployment.route(lambda: 0.05), deployment.route(lambda: 0.5)] == ["b", "a"]


@pytest.fixture
def aws(aws_credentials: None) -> Iterator[None]:
    with mock_aws():
        yield


def test_describe_endpoint_shows_the_deployment(aws: None) -> None:
    from moto.sagemaker.models import sagemaker_backends

    sagemaker = boto3.client("sagemaker")
    sagemaker.create_model(
        ModelName="m",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
        PrimaryContainer={"Image": "i"},
    )
    for name in ("config-a", "config-b"):
        sagemaker.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "primary",
                    "ModelName": "m",
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 2,
                }
            ],
        )
    sagemaker.create_endpoint(EndpointName="prod-iris", EndpointConfigName="config-a")
    # moto's endpoint, which gains the deployment's fields once the deployment sets them.
    endpoint = cast(
        guardrails.EndpointView,
        sagemaker_backends["123456789012"]["eu-west-1"].endpoints["prod-iris"],
    )
    clock = HandClock()
    seen: list[dict[str, Any]] = []
    fire = alarm_after(clock, 120)

    def states(names: list[str]) -> Mapping[str, str]:
        seen.append(sagemaker.describe_endpoint(EndpointName="prod-iris"))
        return fire(names)

    deployment = guardrails.Deployment(
        endpoint=endpoint,
        old_config="config-a",
        new_config="config-b",
        deployment_config=CANARY,
        new_instances=2,
        clock=clock,
        alarm_states=states,
    )
    assert deployment.run() == "rolled-back"
    assert seen[0]["EndpointStatus"] == "Updating"
    assert seen[0]["PendingDeploymentSummary"]["EndpointConfigName"] == "config-b"
    after = sagemaker.describe_endpoint(EndpointName="prod-iris")
    assert (after["EndpointStatus"], after["EndpointConfigName"]) == ("InService", "config-a")
    assert "error-rate" in after["FailureReason"]
    assert (
        after["LastDeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"][
            "Type"
        ]
        == "CANARY"
    )
    assert "PendingDeploymentSummary" not in after
