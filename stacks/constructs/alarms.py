"""CloudWatch alarms per production variant: they page the on-call and roll deployments back."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from configs.alarms import AlarmRule, Alarms

INVOCATION_NAMESPACE = "AWS/SageMaker"
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"
MICROSECONDS_PER_MS = 1000  # ModelLatency and OverheadLatency are reported in microseconds

# Missing data, chosen per alarm:
# - error rates and latencies have no data point when nobody calls the endpoint: no traffic is
#   not a failure, so missing data is not breaching (also what SageMaker's guardrail examples
#   use, so a quiet canary is not rolled back);
# - instance utilisation is reported every minute while instances run: a gap means the fleet
#   is being replaced or gone, which the alarm shows as INSUFFICIENT_DATA instead of paging.
TREAT_MISSING = {
    "error_rate_5xx": cloudwatch.TreatMissingData.NOT_BREACHING,
    "error_rate_4xx": cloudwatch.TreatMissingData.NOT_BREACHING,
    "model_latency_p99": cloudwatch.TreatMissingData.NOT_BREACHING,
    "overhead_latency_p99": cloudwatch.TreatMissingData.NOT_BREACHING,
    "cpu_utilization": cloudwatch.TreatMissingData.MISSING,
    "memory_utilization": cloudwatch.TreatMissingData.MISSING,
    "disk_utilization": cloudwatch.TreatMissingData.MISSING,
}


@dataclass(frozen=True)
class AlarmedVariant:
    """A production variant as the alarms see it."""

    name: str
    instance_type: str | None  # None: serverless, no instance metrics


def vcpus(instance_type: str) -> int:
    """vCPUs of an `ml.<family>.<size>` type: large 2, xlarge 4, Nxlarge 4N (medium 2).

    CPUUtilization is summed over vCPUs (up to 100 x vCPUs), so a percentage of the whole
    instance is scaled by this.
    """
    size = instance_type.rsplit(".", 1)[-1]
    match = re.fullmatch(r"(\d*)xlarge", size)
    if match:
        return 4 * int(match.group(1) or 1)
    return 2


def alarm_name(endpoint_name: str, variant: str, rule: str) -> str:
    """Stable, readable names: the page says what fired, and names are known before deploy."""
    return f"{endpoint_name}-{variant}-{rule.replace('_', '-')}"


class EndpointAlarms(Construct):
    """The enabled alarms of `config` for each production variant.

    Latency alarms carry the `EndpointConfigName` dimension, so during a blue/green rollout they
    watch the new fleet only (SageMaker guide, "Auto-Rollback Configuration and Monitoring");
    once the rollout is done that config is the live one. Error rates watch the variant as a
    whole: an error rate that rises on either fleet during a rollout stops it.

    Args:
        endpoint_name: the endpoint's explicit name (a literal, so no reference cycle).
        endpoint_config_name: the EndpointConfig being rolled out.
        variants: the production variants.
        config: thresholds, periods and which alarms page and roll back.
        topic: where ALARM and OK notifications go.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        endpoint_name: str,
        endpoint_config_name: str,
        variants: Sequence[AlarmedVariant],
        config: Alarms,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, id_)
        self.alarms: list[cloudwatch.Alarm] = []
        self.rollback_alarms: list[cloudwatch.Alarm] = []
        self.rollback_alarm_names: list[str] = []
        notify = actions.SnsAction(topic)
        for variant in variants:
            for rule_name, rule in config.rules().items():
                if not rule.applies_to(serverless=variant.instance_type is None):
                    continue
                name = alarm_name(endpoint_name, variant.name, rule_name)
                metric, threshold = _metric(
                    rule_name, rule, endpoint_name, endpoint_config_name, variant
                )
                alarm = cloudwatch.Alarm(
                    self,
                    f"{variant.name}-{rule_name}",
                    alarm_name=name,
                    alarm_description=_describe(rule_name, rule, endpoint_name, variant.name),
                    metric=metric,
                    threshold=threshold,
                    evaluation_periods=rule.evaluation_periods,
                    datapoints_to_alarm=rule.datapoints_to_alarm,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    treat_missing_data=TREAT_MISSING[rule_name],
                )
                if rule.page:
                    alarm.add_alarm_action(notify)
                    alarm.add_ok_action(notify)
                self.alarms.append(alarm)
                if rule.rollback:
                    self.rollback_alarms.append(alarm)
                    self.rollback_alarm_names.append(name)

    def grant_describe_rollback_alarms(self, role: iam.IRole) -> None:
        """SageMaker reads the rollback alarms as the execution role; exactly those, by ARN.

        The ARNs are built from the literal names: referencing the alarms would make the role's
        policy wait for them, while the Model (and so the alarms' EndpointConfig) waits for
        the policy.
        """
        if not self.rollback_alarm_names:
            return
        stack = Stack.of(self)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DescribeRollbackAlarms",
                actions=["cloudwatch:DescribeAlarms"],
                resources=[
                    stack.format_arn(
                        service="cloudwatch",
                        resource="alarm",
                        resource_name=name,
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                    for name in self.rollback_alarm_names
                ],
            )
        )


def _metric(
    rule_name: str,
    rule: AlarmRule,
    endpoint_name: str,
    endpoint_config_name: str,
    variant: AlarmedVariant,
) -> tuple[cloudwatch.IMetric, float]:
    period = Duration.seconds(rule.period_seconds)
    dimensions = {"EndpointName": endpoint_name, "VariantName": variant.name}

    def invocation(metric_name: str, statistic: str, **extra: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=INVOCATION_NAMESPACE,
            metric_name=metric_name,
            dimensions_map={**dimensions, **extra},
            statistic=statistic,
            period=period,
        )

    if rule_name in {"error_rate_5xx", "error_rate_4xx"}:
        errors = "Invocation5XXErrors" if rule_name == "error_rate_5xx" else "Invocation4XXErrors"
        return (
            cloudwatch.MathExpression(
                expression="IF(invocations > 0, 100 * errors / invocations, 0)",
                using_metrics={
                    "errors": invocation(errors, "Sum"),
                    "invocations": invocation("Invocations", "Sum"),
                },
                label=f"{errors} % of Invocations",
                period=period,
            ),
            rule.threshold,
        )
    if rule_name in {"model_latency_p99", "overhead_latency_p99"}:
        metric_name = "ModelLatency" if rule_name == "model_latency_p99" else "OverheadLatency"
        return (
            invocation(metric_name, "p99", EndpointConfigName=endpoint_config_name),
            rule.threshold * MICROSECONDS_PER_MS,
        )
    metric_name = {
        "cpu_utilization": "CPUUtilization",
        "memory_utilization": "MemoryUtilization",
        "disk_utilization": "DiskUtilization",
    }[rule_name]
    assert variant.instance_type is not None, "instance alarms need instances"
    scale = vcpus(variant.instance_type) if rule_name == "cpu_utilization" else 1
    return (
        cloudwatch.Metric(
            namespace=INSTANCE_NAMESPACE,
            metric_name=metric_name,
            dimensions_map=dimensions,
            statistic="Average",
            period=period,
        ),
        rule.threshold * scale,
    )


def _describe(rule_name: str, rule: AlarmRule, endpoint_name: str, variant: str) -> str:
    what = {
        "error_rate_5xx": f"5XX errors above {rule.threshold}% of invocations",
        "error_rate_4xx": f"4XX errors above {rule.threshold}% of invocations",
        "model_latency_p99": f"p99 model latency above {rule.threshold} ms",
        "overhead_latency_p99": f"p99 overhead latency above {rule.threshold} ms",
        "cpu_utilization": f"CPU above {rule.threshold}% of the instance",
        "memory_utilization": f"memory above {rule.threshold}%",
        "disk_utilization": f"disk above {rule.threshold}%",
    }[rule_name]
    effects = [
        e for e, on in (("rolls back a deployment", rule.rollback), ("pages", rule.page)) if on
    ]
    effect = f" ({' and '.join(effects)})" if effects else ""
    return f"{endpoint_name} variant {variant}: {what}{effect}."
