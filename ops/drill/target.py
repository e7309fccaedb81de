"""What a drill aims at, read from the synthesized template: the stack, its endpoint, its
rollout and the rollback alarms, and the one alarm that must catch the injected fault.

The template is the truth here (not the config): it is what CloudFormation deploys and what
SageMaker watches. A model whose endpoint has no rollback alarm on the fault's metric cannot
be drilled with that fault; `alarm_for` says so in one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops.drill.faults import Fault
from stacks.templates import StackTemplate, properties, read_assembly

ENDPOINT = "AWS::SageMaker::Endpoint"
ALARM = "AWS::CloudWatch::Alarm"
TOPIC = "AWS::SNS::Topic"
MICROSECONDS_PER_MS = 1000


class DrillInputError(ValueError):
    """The drill cannot run against this model or environment; the message says why."""


@dataclass(frozen=True)
class Alarm:
    """A rollback alarm, as the timeline plots it.

    Args:
        metric: the SageMaker metric it reads (for an error rate, the errors' metric).
        threshold: in the plotted unit (percent of invocations, or milliseconds).
        new_fleet_only: it has the EndpointConfigName dimension: it watches one fleet.
    """

    name: str
    metric: str
    threshold: float
    unit: str
    new_fleet_only: bool


@dataclass(frozen=True)
class Target:
    stack: str
    endpoint: str
    traffic_routing: str  # ALL_AT_ONCE, CANARY, LINEAR or ROLLING
    bake_seconds: float
    rollback_alarms: tuple[Alarm, ...]
    topic_logical_id: str | None

    def alarm_for(self, fault: Fault) -> Alarm:
        """The rollback alarm that watches the metric the fault moves."""
        for alarm in self.rollback_alarms:
            if alarm.metric == fault.metric:
                return alarm
        watched = ", ".join(f"{a.name} ({a.metric})" for a in self.rollback_alarms) or "none"
        raise DrillInputError(
            f"{self.stack} has no rollback alarm on {fault.metric}, so --fault {fault.kind} "
            f"cannot be caught; its rollback alarms: {watched}"
        )


def _metric_names(props: Mapping[str, Any]) -> list[str]:
    names = [str(props["MetricName"])] if "MetricName" in props else []
    for query in props.get("Metrics") or []:
        stat = query.get("MetricStat") if isinstance(query, Mapping) else None
        if isinstance(stat, Mapping):
            names.append(str(stat.get("Metric", {}).get("MetricName")))
    return names


def _alarm(props: Mapping[str, Any]) -> Alarm:
    names = _metric_names(props)
    threshold = float(props.get("Threshold", 0))
    errors = next((n for n in names if n.endswith("Errors")), None)
    dimensions = [d.get("Name") for d in props.get("Dimensions") or []]
    for query in props.get("Metrics") or []:
        metric = (query.get("MetricStat") or {}).get("Metric") or {}
        dimensions += [d.get("Name") for d in metric.get("Dimensions") or []]
    if errors is not None and props.get("Metrics"):
        return Alarm(str(props["AlarmName"]), errors, threshold, "%", False)
    metric = names[0] if names else "?"
    unit = "ms" if metric.endswith("Latency") else ""
    shown = threshold / MICROSECONDS_PER_MS if unit == "ms" else threshold
    return Alarm(str(props["AlarmName"]), metric, shown, unit, "EndpointConfigName" in dimensions)


def _routing(deployment: Mapping[str, Any]) -> tuple[str, float]:
    rolling = deployment.get("RollingUpdatePolicy")
    if rolling:
        return "ROLLING", float(rolling.get("WaitIntervalInSeconds", 0))
    routing = (deployment.get("BlueGreenUpdatePolicy") or {}).get("TrafficRoutingConfiguration")
    routing = routing or {"Type": "ALL_AT_ONCE"}
    return str(routing.get("Type")), float(routing.get("WaitIntervalInSeconds", 0))


def target_of(stack: StackTemplate) -> Target:
    endpoints = stack.resources(ENDPOINT)
    if len(endpoints) != 1:
        raise DrillInputError(f"{stack.name} has {len(endpoints)} endpoints; a drill needs one")
    endpoint = properties(next(iter(endpoints.values())))
    deployment = endpoint.get("DeploymentConfig") or {}
    names = [
        str(a.get("AlarmName"))
        for a in (deployment.get("AutoRollbackConfiguration") or {}).get("Alarms") or []
    ]
    if not names:
        raise DrillInputError(
            f"{stack.name} has no rollback alarms (AutoRollbackConfiguration): a bad version "
            "would take all traffic and nothing would roll it back"
        )
    declared = {
        str(props.get("AlarmName")): props
        for props in (properties(a) for a in stack.resources(ALARM).values())
    }
    alarms = tuple(_alarm(declared[name]) for name in names if name in declared)
    routing, bake = _routing(deployment)
    topics = list(stack.resources(TOPIC))
    return Target(
        stack=stack.name,
        endpoint=str(endpoint.get("EndpointName")),
        traffic_routing=routing,
        bake_seconds=bake,
        rollback_alarms=alarms,
        topic_logical_id=topics[0] if topics else None,
    )


def read_target(assembly: Path, stack_name: str) -> Target:
    for stack in read_assembly(assembly):
        if stack.name == stack_name:
            return target_of(stack)
    raise DrillInputError(f"{assembly} has no stack {stack_name}")
