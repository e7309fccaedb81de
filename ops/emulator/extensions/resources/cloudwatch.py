"""AWS::CloudWatch::Alarm, which moto 5.2.5's CloudFormation engine skips: the alarms that page
people and roll deployments back then exist for DescribeAlarms to show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Self

from moto.cloudwatch.models import (
    Dimension,
    Metric,
    MetricDataQuery,
    MetricStat,
    cloudwatch_backends,
)

from ops.emulator.extensions.resources.base import ProjectResource, Props, flag


@dataclass(eq=False)
class CfnAlarm(ProjectResource):
    """A metric alarm on a single metric or on metric math (`Metrics`)."""

    resource_type = "AWS::CloudWatch::Alarm"
    name_property = "AlarmName"
    physical_id = "name"
    attributes: ClassVar = {"Arn": "arn"}

    name: str
    arn: str

    @classmethod
    def create(cls, *, name: str, props: Props, account_id: str, region_name: str) -> Self:
        alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=name,
            namespace=props.get("Namespace"),
            metric_name=props.get("MetricName"),
            metric_data_queries=_queries(props.get("Metrics")),
            comparison_operator=props["ComparisonOperator"],
            evaluation_periods=int(props["EvaluationPeriods"]),
            datapoints_to_alarm=_int(props.get("DatapointsToAlarm")),
            period=_int(props.get("Period")),  # type: ignore[arg-type]
            threshold=float(props["Threshold"]) if "Threshold" in props else None,  # type: ignore[arg-type]
            statistic=props.get("Statistic"),
            extended_statistic=props.get("ExtendedStatistic"),
            description=props.get("AlarmDescription"),
            dimensions=props.get("Dimensions", []),
            alarm_actions=props.get("AlarmActions", []),
            ok_actions=props.get("OKActions", []),
            insufficient_data_actions=props.get("InsufficientDataActions", []),
            unit=props.get("Unit"),
            actions_enabled=flag(props.get("ActionsEnabled"), default=True),
            treat_missing_data=props.get("TreatMissingData"),
            evaluate_low_sample_count_percentile=props.get("EvaluateLowSampleCountPercentile"),
            threshold_metric_id=props.get("ThresholdMetricId"),
            tags=props.get("Tags", []),
        )
        return cls(alarm.name, alarm.alarm_arn)

    def update(self, *, name: str, props: Props, account_id: str, region_name: str) -> Self:
        """In place (PutMetricAlarm overwrites the alarm of that name); a new name replaces."""
        if name != self.name:
            self.delete(account_id, region_name)
        return self.create(name=name, props=props, account_id=account_id, region_name=region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        cloudwatch_backends[account_id][region_name].delete_alarms([self.name])


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _queries(metrics: Props) -> list[MetricDataQuery] | None:
    """The template's `Metrics` (metric math) as moto's query objects."""
    if not metrics:
        return None
    return [
        MetricDataQuery(
            query_id=query["Id"],
            label=query.get("Label"),
            period=query.get("Period"),
            return_data=query.get("ReturnData"),
            expression=query.get("Expression"),
            metric_stat=_metric_stat(query.get("MetricStat")),
        )
        for query in metrics
    ]


def _metric_stat(stat: Props) -> MetricStat | None:
    if not stat:
        return None
    metric = stat["Metric"]
    return MetricStat(
        metric=Metric(
            metric_name=metric.get("MetricName"),
            namespace=metric.get("Namespace"),
            dimensions=[
                Dimension(name=d["Name"], value=d["Value"]) for d in metric.get("Dimensions", [])
            ],
        ),
        period=stat.get("Period"),
        stat=stat.get("Stat"),
        unit=stat.get("Unit"),
    )
