"""Endpoints are watched: alarms on each endpoint, and rollback alarms its guardrails name."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from cdk_nag import NagRuleCompliance

from stacks.checks.rule import Resource, Rule, TemplateIndex
from stacks.checks.values import listed, refers_to


def _alarm_dimensions(alarm: Resource) -> Iterable[dict[str, Any]]:
    yield from listed(alarm.props.get("Dimensions"))
    for metric in listed(alarm.props.get("Metrics")):
        stat = (metric or {}).get("MetricStat") or {}
        yield from listed((stat.get("Metric") or {}).get("Dimensions"))


def _watches(alarm: Resource, endpoint_name: Any) -> bool:
    return any(
        d.get("Name") == "EndpointName" and d.get("Value") == endpoint_name
        for d in _alarm_dimensions(alarm)
        if isinstance(d, Mapping)
    )


def _endpoint_alarms(res: Resource, template: TemplateIndex) -> NagRuleCompliance:
    name = res.props.get("EndpointName")
    if name is None:
        return NagRuleCompliance.NON_COMPLIANT  # alarms cannot name a generated endpoint name
    alarms = template.of_type("AWS::CloudWatch::Alarm")
    if any(_watches(alarm, name) for alarm in alarms):
        return NagRuleCompliance.COMPLIANT
    return NagRuleCompliance.NON_COMPLIANT


def _rollback_alarms(res: Resource, template: TemplateIndex) -> NagRuleCompliance:
    deployment = res.props.get("DeploymentConfig") or {}
    if not (deployment.get("BlueGreenUpdatePolicy") or deployment.get("RollingUpdatePolicy")):
        return NagRuleCompliance.NOT_APPLICABLE
    named = [
        a.get("AlarmName")
        for a in listed((deployment.get("AutoRollbackConfiguration") or {}).get("Alarms"))
    ]
    if not named:
        return NagRuleCompliance.NON_COMPLIANT
    alarms = template.of_type("AWS::CloudWatch::Alarm")
    defined = {json.dumps(a.props.get("AlarmName")) for a in alarms}
    for name in named:
        known = json.dumps(name) in defined or any(refers_to(name, a.logical_id) for a in alarms)
        if not known:
            return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT


ENDPOINT_ALARMS = Rule(
    "EndpointAlarms",
    ("AWS::SageMaker::Endpoint",),
    "No CloudWatch alarm in the stack watches this endpoint (dimension EndpointName), or "
    "the endpoint has no literal name for alarms to use.",
    "An endpoint nobody is alarmed about fails silently: each endpoint needs alarms on its "
    "own metrics, which need its name.",
    _endpoint_alarms,
)

ROLLBACK_ALARMS = Rule(
    "RollbackAlarms",
    ("AWS::SageMaker::Endpoint",),
    "The endpoint rolls out with deployment guardrails but names no rollback alarm, or "
    "names one this stack does not define.",
    "Blue/green and rolling updates only roll back on the alarms in "
    "AutoRollbackConfiguration; without them a bad model version takes all traffic.",
    _rollback_alarms,
)

RULES = (ENDPOINT_ALARMS, ROLLBACK_ALARMS)
