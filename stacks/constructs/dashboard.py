"""A CloudWatch dashboard per model and environment."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from stacks.constructs.alarms import ALARM_METRICS, INVOCATION_NAMESPACE, INVOCATIONS

PERIOD = Duration.minutes(1)
# A graphed metric: (namespace, metric name).
Shown = tuple[str, str]


def alarmed(*keys: str) -> list[Shown]:
    """The metrics that the alarms with these keys watch (see `ALARM_METRICS`)."""
    return [(ALARM_METRICS[key].namespace, ALARM_METRICS[key].metric_name) for key in keys]


class EndpointDashboard(Construct):
    """Invocations, errors, latency percentiles, instance utilisation and alarm states.

    Args:
        endpoint_name: the endpoint's explicit name; also the dashboard's name.
        variants: production and shadow variant names, one line each per graph.
        instance_variants: the variants that run on instances (utilisation graphs).
        alarms: shown in an alarm-status widget.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        endpoint_name: str,
        variants: Sequence[str],
        instance_variants: Sequence[str],
        alarms: Sequence[cloudwatch.IAlarm],
    ) -> None:
        super().__init__(scope, id_)

        def metric(namespace: str, name: str, variant: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=namespace,
                metric_name=name,
                dimensions_map={"EndpointName": endpoint_name, "VariantName": variant},
                statistic=statistic,
                period=PERIOD,
                label=f"{variant} {name} {statistic}",
            )

        def graph(title: str, lines: list[cloudwatch.IMetric], unit: str) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(
                title=title,
                left=lines,
                left_y_axis=cloudwatch.YAxisProps(label=unit, show_units=False),
                width=12,
            )

        def per_variant(
            shown: Sequence[Shown], stats: Sequence[str], among: Sequence[str]
        ) -> list[cloudwatch.IMetric]:
            return [
                metric(namespace, name, variant, stat)
                for variant in among
                for namespace, name in shown
                for stat in stats
            ]

        rows: list[list[cloudwatch.IWidget]] = [
            [
                graph(
                    "Invocations",
                    per_variant([(INVOCATION_NAMESPACE, INVOCATIONS)], ["Sum"], variants),
                    "count / min",
                ),
                graph(
                    "Errors",
                    per_variant(alarmed("error_rate_5xx", "error_rate_4xx"), ["Sum"], variants),
                    "count / min",
                ),
            ],
            [
                graph(
                    "Model latency",
                    per_variant(alarmed("model_latency_p99"), ["p50", "p90", "p99"], variants),
                    "microseconds",
                ),
                graph(
                    "Overhead latency",
                    per_variant(alarmed("overhead_latency_p99"), ["p50", "p99"], variants),
                    "microseconds",
                ),
            ],
        ]
        if instance_variants:
            rows.append(
                [
                    graph(
                        "CPU utilisation (summed over vCPUs)",
                        per_variant(alarmed("cpu_utilization"), ["Average"], instance_variants),
                        "percent",
                    ),
                    graph(
                        "Memory and disk utilisation",
                        per_variant(
                            alarmed("memory_utilization", "disk_utilization"),
                            ["Average"],
                            instance_variants,
                        ),
                        "percent",
                    ),
                ]
            )
        if alarms:
            rows.append(
                [cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(alarms), width=24)]
            )
        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=endpoint_name, widgets=rows
        )
