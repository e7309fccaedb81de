"""What one stack template deploys, in the words a reviewer of a model change needs.

Each side of a change (the base template and the head template) is described once: the model
and its bundle digest (from the metadata contract), the endpoint's rollout plan, the variants'
instances, autoscaling, alarms and buckets. Classifying a change compares two descriptions;
the Markdown prints them. Properties that are intrinsic functions (`Ref`, `Fn::Join`,
`Fn::GetAtt`) are shown as literals where the template has the value, `${Logical}` otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stacks.metadata import read_bundle
from stacks.templates import properties, resources_of

ENDPOINT = "AWS::SageMaker::Endpoint"
ENDPOINT_CONFIG = "AWS::SageMaker::EndpointConfig"
ALARM = "AWS::CloudWatch::Alarm"
SCALABLE_TARGET = "AWS::ApplicationAutoScaling::ScalableTarget"
SCALING_POLICY = "AWS::ApplicationAutoScaling::ScalingPolicy"
BUCKET = "AWS::S3::Bucket"

Template = Mapping[str, Any]


def _resources(template: Template | None, kind: str) -> dict[str, dict[str, Any]]:
    return {} if template is None else resources_of(template, kind)


def literal(value: Any, template: Template | None, name_key: str | None = None) -> str:
    """A readable form of a property that may be an intrinsic function.

    A `Ref` to a resource whose `name_key` property is a literal string reads as that string
    (an alarm referenced by its `AlarmName`).
    """
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, Mapping):
        if "Ref" in value:
            target = (template or {}).get("Resources", {}).get(value["Ref"], {})
            if name_key and isinstance(properties(target).get(name_key), str):
                return str(properties(target)[name_key])
            return f"${{{value['Ref']}}}"
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return str(separator).join(literal(part, template, name_key) for part in parts)
        if "Fn::GetAtt" in value:
            return "${" + ".".join(str(part) for part in value["Fn::GetAtt"]) + "}"
    return json.dumps(value, sort_keys=True)


def _seconds(value: Any) -> str:
    if not isinstance(value, int):
        return "?"
    return f"{value // 60} min" if value >= 120 and value % 60 == 0 else f"{value}s"


def _capacity(value: Any) -> str:
    if not isinstance(value, Mapping):
        return "?"
    kind, amount = value.get("Type"), value.get("Value")
    return f"{amount}%" if kind == "CAPACITY_PERCENT" else f"{amount} instance(s)"


def alarm_names_for_rollback(template: Template | None) -> list[str]:
    """Alarm names in the endpoints' `AutoRollbackConfiguration`, intrinsics resolved."""
    names = []
    for endpoint in _resources(template, ENDPOINT).values():
        config = properties(endpoint).get("DeploymentConfig", {})
        alarms = config.get("AutoRollbackConfiguration", {}).get("Alarms", [])
        names += [literal(alarm.get("AlarmName"), template, "AlarmName") for alarm in alarms]
    return names


def _traffic_shift(blue_green: Mapping[str, Any]) -> list[str]:
    """A blue/green `TrafficRoutingConfiguration` and termination wait in words."""
    routing = blue_green.get("TrafficRoutingConfiguration", {})
    kind = routing.get("Type", "ALL_AT_ONCE")
    wait = routing.get("WaitIntervalInSeconds")
    if kind == "CANARY":
        parts = [
            f"canary {_capacity(routing.get('CanarySize'))}, bake {_seconds(wait)}, then the rest"
        ]
    elif kind == "LINEAR":
        parts = [
            f"linear steps of {_capacity(routing.get('LinearStepSize'))} every {_seconds(wait)}"
        ]
    else:
        parts = ["blue/green all at once"]
    if "TerminationWaitInSeconds" in blue_green:
        parts.append(f"old fleet kept {_seconds(blue_green['TerminationWaitInSeconds'])}")
    return parts


def rollout_plan(template: Template | None) -> str:
    """The endpoint's update policy in words (SageMaker `DeploymentConfig`)."""
    endpoints = _resources(template, ENDPOINT)
    if not endpoints:
        return "-"
    plans = []
    for endpoint in endpoints.values():
        config = properties(endpoint).get("DeploymentConfig")
        if not isinstance(config, Mapping):
            plans.append("SageMaker default (blue/green, all at once, no alarms)")
            continue
        parts: list[str] = []
        blue_green = config.get("BlueGreenUpdatePolicy")
        rolling = config.get("RollingUpdatePolicy")
        if isinstance(blue_green, Mapping):
            parts += _traffic_shift(blue_green)
        elif isinstance(rolling, Mapping):
            parts.append(
                f"rolling batches of {_capacity(rolling.get('MaximumBatchSize'))} "
                f"every {_seconds(rolling.get('WaitIntervalInSeconds'))}"
            )
        alarms = alarm_names_for_rollback(template)
        parts.append(f"auto-rollback on {', '.join(alarms)}" if alarms else "no auto-rollback")
        plans.append("; ".join(parts))
    return " / ".join(plans)


def variants(template: Template | None) -> dict[str, str]:
    """`name -> "ml.m5.large x2 (weight 1)"` for production and shadow variants."""
    found: dict[str, str] = {}
    for config in _resources(template, ENDPOINT_CONFIG).values():
        props = properties(config)
        for key, label in (("ProductionVariants", ""), ("ShadowProductionVariants", "shadow ")):
            for variant in props.get(key, []) or []:
                name = f"{label}{variant.get('VariantName', '?')}"
                if "ServerlessConfig" in variant:
                    serverless = variant["ServerlessConfig"]
                    found[name] = (
                        f"serverless {serverless.get('MemorySizeInMB')} MB, "
                        f"max {serverless.get('MaxConcurrency')}"
                    )
                    continue
                text = f"{variant.get('InstanceType', '?')} x{variant.get('InitialInstanceCount')}"
                if key == "ProductionVariants" and "InitialVariantWeight" in variant:
                    text += f" (weight {variant['InitialVariantWeight']:g})"
                found[name] = text
    return found


def _policy(policy_props: Mapping[str, Any]) -> str:
    """A scaling policy in words: its tracked metric and target, or its type."""
    tracking = policy_props.get("TargetTrackingScalingPolicyConfiguration", {})
    metric = tracking.get("PredefinedMetricSpecification", {}).get("PredefinedMetricType") or (
        "custom metric" if "CustomizedMetricSpecification" in tracking else None
    )
    if metric:
        return f"{metric} {tracking.get('TargetValue')}"
    return str(policy_props.get("PolicyType", "policy"))


def scaling(template: Template | None) -> dict[str, str]:
    """`target -> "1-4 instances, InvocationsPerInstance 70"` from Application Auto Scaling."""
    found: dict[str, str] = {}
    for logical, target in _resources(template, SCALABLE_TARGET).items():
        props = properties(target)
        resource_id = literal(props.get("ResourceId"), template)
        name = resource_id.rsplit("/", 1)[-1] if "/variant/" in resource_id else logical
        policies = [
            _policy(properties(policy))
            for policy in _resources(template, SCALING_POLICY).values()
            if properties(policy).get("ScalingTargetId") in ({"Ref": logical}, logical)
        ]
        text = f"{props.get('MinCapacity')}-{props.get('MaxCapacity')} instances"
        found[name] = ", ".join([text, *policies])
    return found


def alarms(template: Template | None) -> dict[str, str]:
    """`alarm name -> "metric op threshold"` for every CloudWatch alarm."""
    found = {}
    for logical, alarm in _resources(template, ALARM).items():
        props = properties(alarm)
        name = props.get("AlarmName")
        label = name if isinstance(name, str) else logical
        metric = props.get("MetricName") or "expression"
        found[label] = (
            f"{metric} {props.get('ComparisonOperator', '?')} {props.get('Threshold', '?')}"
        )
    return found


@dataclass(frozen=True)
class Deployed:
    """What one stack template deploys, as the PR comment speaks of it.

    Attributes:
        model: the model the stack serves (`Metadata.ModelBundle`), None for other stacks.
        sha256: the digest of its model.tar.gz, None for other stacks.
        rollout: the endpoint's update policy in words, "-" without an endpoint.
        variants: production and shadow variants with their instances.
        scaling: autoscaling targets with their range and policies.
        alarms: CloudWatch alarms with their metric, operator and threshold.
        buckets: how many S3 buckets the stack has.
        retained_buckets: how many of them outlive the stack (`DeletionPolicy: Retain`).
    """

    model: str | None = None
    sha256: str | None = None
    rollout: str = "-"
    variants: dict[str, str] = field(default_factory=dict)
    scaling: dict[str, str] = field(default_factory=dict)
    alarms: dict[str, str] = field(default_factory=dict)
    buckets: int = 0
    retained_buckets: int = 0


def describe(template: Template) -> Deployed:
    """Read one template once, for classifying and rendering."""
    bundle = read_bundle(template)
    buckets = resources_of(template, BUCKET).values()
    return Deployed(
        model=bundle.model if bundle else None,
        sha256=bundle.sha256 if bundle else None,
        rollout=rollout_plan(template),
        variants=variants(template),
        scaling=scaling(template),
        alarms=alarms(template),
        buckets=len(buckets),
        retained_buckets=sum(1 for b in buckets if b.get("DeletionPolicy") == "Retain"),
    )
