"""The Endpoint's `DeploymentConfig`: a rollout strategy and its rollback alarms.

Blue/green strategies (all at once, canary, linear) bring up a new fleet beside the old one and
shift traffic to it; rolling replaces the fleet batch by batch. Either way SageMaker watches the
rollback alarms while each step bakes and moves all traffic back if one fires. Limits are
checked when the config is loaded (`configs.rollout`); this module only maps.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_sagemaker as sagemaker

from configs.base import percent_of
from configs.rollout import Rollout

Endpoint = sagemaker.CfnEndpoint


def capacity(size: str | int) -> Endpoint.CapacitySizeProperty:
    """`"10%"` -> CAPACITY_PERCENT 10; `2` -> INSTANCE_COUNT 2."""
    percent = percent_of(size)
    if percent is not None:
        return Endpoint.CapacitySizeProperty(type="CAPACITY_PERCENT", value=percent)
    return Endpoint.CapacitySizeProperty(type="INSTANCE_COUNT", value=int(size))


def deployment_config(
    rollout: Rollout, rollback_alarm_names: Sequence[str]
) -> Endpoint.DeploymentConfigProperty:
    """Map a rollout onto BlueGreenUpdatePolicy or RollingUpdatePolicy plus AutoRollback."""
    auto_rollback = (
        Endpoint.AutoRollbackConfigProperty(
            alarms=[Endpoint.AlarmProperty(alarm_name=name) for name in rollback_alarm_names]
        )
        if rollback_alarm_names
        else None
    )
    if rollout.strategy == "rolling":
        rolling = rollout.rolling
        return Endpoint.DeploymentConfigProperty(
            rolling_update_policy=Endpoint.RollingUpdatePolicyProperty(
                maximum_batch_size=capacity(rolling.batch),
                wait_interval_in_seconds=rolling.bake_seconds,
                maximum_execution_timeout_in_seconds=rollout.max_execution_seconds,
                rollback_maximum_batch_size=(
                    capacity(rolling.rollback_batch) if rolling.rollback_batch else None
                ),
            ),
            auto_rollback_configuration=auto_rollback,
        )
    if rollout.strategy == "canary":
        routing = Endpoint.TrafficRoutingConfigProperty(
            type="CANARY",
            canary_size=capacity(rollout.canary.size),
            wait_interval_in_seconds=rollout.canary.bake_seconds,
        )
    elif rollout.strategy == "linear":
        routing = Endpoint.TrafficRoutingConfigProperty(
            type="LINEAR",
            linear_step_size=capacity(rollout.linear.step),
            wait_interval_in_seconds=rollout.linear.bake_seconds,
        )
    else:
        routing = Endpoint.TrafficRoutingConfigProperty(
            type="ALL_AT_ONCE", wait_interval_in_seconds=rollout.all_at_once.bake_seconds
        )
    return Endpoint.DeploymentConfigProperty(
        blue_green_update_policy=Endpoint.BlueGreenUpdatePolicyProperty(
            traffic_routing_configuration=routing,
            termination_wait_in_seconds=rollout.termination_wait_seconds,
            maximum_execution_timeout_in_seconds=rollout.max_execution_seconds,
        ),
        auto_rollback_configuration=auto_rollback,
    )
