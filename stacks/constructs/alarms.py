"""CloudWatch alarms per production variant: they page the on-call and roll deployments back.

`ALARM_METRICS` has one entry per alarm key of `configs.alarms.Alarms`: the SageMaker metric it
watches, its statistic, missing-data rule and description. Whether an alarm needs instances is
the config's to say (`AlarmRule.instance_only`), since validation counts rollback alarms per
variant; the dashboard graphs the same metrics.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
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
INVOCATIONS = "Invocations"
MICROSECONDS_PER_MS = 1000  # ModelLatency and OverheadLatency are reported in microseconds


@dataclass(frozen=True)
class AlarmMetric:
    """What one alarm of `configs.alarms.Alarms` watches and how CloudWatch evaluates it.

    Args:
        metric_name: the SageMaker metric, published per endpoint and variant.
        namespace: where SageMaker publishes it (instance metrics have their own).
        statistic: CloudWatch statistic over each period.
        treat_missing: what a period without data means for this metric.
        describes: what the alarm firing means, `{threshold}` being the configured threshold.
        percent_of_invocations: alarm on 100 x metric / Invocations (metric math) instead.
        new_fleet_only: add the EndpointConfigName dimension, so during a blue/green rollout
            the alarm watches the new fleet only.
        metric_units_per_threshold_unit: the config's unit to the metric's (ms to µs).
        per_vcpu: the metric is summed over vCPUs, so the threshold scales by them.
    """

    metric_name: str
    namespace: str
    statistic: str
    treat_missing: cloudwatch.TreatMissingData
    describes: str
    percent_of_invocations: bool = False
    new_fleet_only: bool = False
    metric_units_per_threshold_unit: int = 1
    per_vcpu: bool = False


# One entry per alarm key of `configs.alarms.Alarms`. Missing data, chosen per alarm:
# - error rates and latencies have no data point when nobody calls the endpoint: no traffic is
#   not a failure, so missing data is not breaching (also what SageMaker's guardrail examples
#   use, so a quiet canary is not rolled back);
# - instance utilisation is reported every minute while instances run: a gap means the fleet
#   is being replaced or gone, which the alarm shows as INSUFFICIENT_DATA instead of paging.
NOT_BREACHING = cloudwatch.TreatMissingData.NOT_BREACHING
MISSING = cloudwatch.TreatMissingData.MISSING
ALARM_METRICS: Mapping[str, AlarmMetric] = {
    "error_rate_5xx": AlarmMetric(
        "Invocation5XXErrors",
        INVOCATION_NAMESPACE,
        "Sum",
        NOT_BREACHING,
        "5XX errors above {threshold}% of invocations",
        percent_of_invocations=True,
    ),
    "error_rate_4xx": AlarmMetric(
        "Invocation4XXErrors",
        INVOCATION_NAMESPACE,
        "Sum",
        NOT_BREACHING,
        "4XX errors above {threshold}% of invocations",
        percent_of_invocations=True,
    ),
    "model_latency_p99": AlarmMetric(
        "ModelLatency",
        INVOCATION_NAMESPACE,
        "p99",
        NOT_BREACHING,
        "p99 model latency above {threshold} ms",
        new_fleet_only=True,
        metric_units_per_threshold_unit=MICROSECONDS_PER_MS,
    ),
    "overhead_latency_p99": AlarmMetric(
        "OverheadLatency",
        INVOCATION_NAMESPACE,
        "p99",
        NOT_BREACHING,
        "p99 overhead latency above {threshold} ms",
        new_fleet_only=True,
        metric_units_per_threshold_unit=MICROSECONDS_PER_MS,
    ),
    "cpu_utilization": AlarmMetric(
        "CPUUtilization",
        INSTANCE_NAMESPACE,
        "Average",
        MISSING,
        "CPU above {threshold}% of the instance",
        per_vcpu=True,
    ),
    "memory_utilization": AlarmMetric(
        "MemoryUtilization", INSTANCE_NAMESPACE, "Average", MISSING, "memory above {threshold}%"
    ),
    "disk_utilization": AlarmMetric(
        "DiskUtilization", INSTANCE_NAMESPACE, "Average", MISSING, "disk above {threshold}%"
    ),
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


def _metric(
    watched: AlarmMetric,
    *,
    period: Duration,
    endpoint_name: str,
    endpoint_config_name: str,
    variant: str,
) -> cloudwatch.IMetric:
    """The metric (or metric math) an alarm compares with its threshold."""
    dimensions = {"EndpointName": endpoint_name, "VariantName": variant}
    if watched.new_fleet_only:
        dimensions["EndpointConfigName"] = endpoint_config_name

    def metric(metric_name: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=watched.namespace,
            metric_name=metric_name,
            dimensions_map=dimensions,
            statistic=watched.statistic,
            period=period,
        )

    if not watched.percent_of_invocations:
        return metric(watched.metric_name)
    return cloudwatch.MathExpression(
        expression="IF(invocations > 0, 100 * errors / invocations, 0)",
        using_metrics={"errors": metric(watched.metric_name), "invocations": metric(INVOCATIONS)},
        label=f"{watched.metric_name} % of {INVOCATIONS}",
        period=period,
    )


def _threshold(watched: AlarmMetric, rule: AlarmRule, variant: AlarmedVariant) -> float:
    """The configured threshold in the metric's own units."""
    scale = watched.metric_units_per_threshold_unit
    if watched.per_vcpu:
        assert variant.instance_type is not None, "instance alarms need instances"
        scale *= vcpus(variant.instance_type)
    return rule.threshold * scale


def _describe(watched: AlarmMetric, rule: AlarmRule, endpoint_name: str, variant: str) -> str:
    what = watched.describes.format(threshold=rule.threshold)
    effects = [
        e for e, on in (("rolls back a deployment", rule.rollback), ("pages", rule.page)) if on
    ]
    effect = f" ({' and '.join(effects)})" if effects else ""
    return f"{endpoint_name} variant {variant}: {what}{effect}."


class EndpointAlarms(Construct):
    """The enabled alarms of `config` for each production variant, as `ALARM_METRICS` says.

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
                watched = ALARM_METRICS[rule_name]
                name = alarm_name(endpoint_name, variant.name, rule_name)
                alarm = cloudwatch.Alarm(
                    self,
                    f"{variant.name}-{rule_name}",
                    alarm_name=name,
                    alarm_description=_describe(watched, rule, endpoint_name, variant.name),
                    metric=_metric(
                        watched,
                        period=Duration.seconds(rule.period_seconds),
                        endpoint_name=endpoint_name,
                        endpoint_config_name=endpoint_config_name,
                        variant=variant.name,
                    ),
                    threshold=_threshold(watched, rule, variant),
                    evaluation_periods=rule.evaluation_periods,
                    datapoints_to_alarm=rule.datapoints_to_alarm,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    treat_missing_data=watched.treat_missing,
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
