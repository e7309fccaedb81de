"""SageMaker's invocation metrics, published to the emulator's CloudWatch on every InvokeEndpoint.

Follows "Amazon SageMaker AI metrics in Amazon CloudWatch", section "SageMaker AI endpoint
invocation metrics" (https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html)
and "Auto-Rollback Configuration and Monitoring", section "Alarm Examples"
(https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html):

- namespace `AWS/SageMaker`, dimensions `EndpointName` + `VariantName`;
- `Invocations`: 1 per request sent to the model (Sum);
- `Invocation4XXErrors` / `Invocation5XXErrors`: 1 when the model answered 4xx / 5xx, otherwise
  0, so Average and Sum both work and an error-rate expression always has both operands;
- `InvocationModelErrors`: 1 when the request did not end in a 2xx from the model (4xx, 5xx,
  no answer), otherwise 0;
- `ModelLatency` (microseconds): from sending the request to the container until its answer;
- `OverheadLatency` (microseconds): the rest of the time SageMaker spends on the request;
- `InvocationsPerInstance`: 1/numberOfInstances per request (API_ScalingPolicyMetric).

What the pages leave open, and the choices made here:

- Blue/green fleets. The guardrails page's "model latency on the new fleet" example adds an
  `EndpointConfigName` dimension to watch one fleet. Every invocation metric is published twice:
  once with `EndpointName, VariantName`, once with `EndpointConfigName` added, naming the
  EndpointConfig whose fleet answered. CloudWatch keeps each dimension set as its own metric, so an
  alarm must name exactly one of these sets to see data.
- Latencies are published for every request the container answered, errors included; a request
  the container never answered publishes no latency.
- Instance metrics (`/aws/sagemaker/Endpoints`: CPUUtilization, MemoryUtilization,
  DiskUtilization) are not emulated: the model server here is one process on a shared machine,
  not an `ml.*` instance, so alarms on them stay INSUFFICIENT_DATA.
- Data points carry the wall-clock time of the request; alarm periods are scaled when evaluated
  (`ops.emulator.clock`), not when published.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

NAMESPACE = "AWS/SageMaker"
MICROSECONDS = "Microseconds"

# The metric names SageMaker publishes per InvokeEndpoint, in the order they are listed above.
INVOCATION_METRICS = (
    "Invocations",
    "Invocation4XXErrors",
    "Invocation5XXErrors",
    "InvocationModelErrors",
    "ModelLatency",
    "OverheadLatency",
    "InvocationsPerInstance",
)


@dataclass(frozen=True)
class Invocation:
    """One InvokeEndpoint request as SageMaker accounts for it.

    Args:
        model_status: the HTTP status the container answered with; None when it never answered.
        model_seconds: time spent waiting for the container (None when it never answered).
        total_seconds: time from receiving the request to returning the response.
        instance_count: instances of the variant's fleet that served the request.
    """

    endpoint_name: str
    variant_name: str
    endpoint_config_name: str
    model_status: int | None
    model_seconds: float | None
    total_seconds: float
    instance_count: int


def _dimension_sets(invocation: Invocation) -> list[list[dict[str, str]]]:
    variant = [
        {"Name": "EndpointName", "Value": invocation.endpoint_name},
        {"Name": "VariantName", "Value": invocation.variant_name},
    ]
    fleet = [*variant, {"Name": "EndpointConfigName", "Value": invocation.endpoint_config_name}]
    return [variant, fleet]


def values(invocation: Invocation) -> list[tuple[str, float, str]]:
    """(metric name, value, unit) that SageMaker publishes for the request."""
    status = invocation.model_status
    answered = status is not None
    family = (status or 0) // 100  # 2 for 2xx, 4 for 4xx, 5 for 5xx; 0 when nothing answered
    points: list[tuple[str, float, str]] = [
        ("Invocations", 1.0, "None"),
        ("Invocation4XXErrors", 1.0 if family == 4 else 0.0, "None"),
        ("Invocation5XXErrors", 1.0 if family == 5 else 0.0, "None"),
        ("InvocationModelErrors", 0.0 if family == 2 else 1.0, "None"),
        ("InvocationsPerInstance", 1.0 / max(1, invocation.instance_count), "None"),
    ]
    if answered and invocation.model_seconds is not None:
        model_us = invocation.model_seconds * 1_000_000
        overhead_us = max(0.0, invocation.total_seconds - invocation.model_seconds) * 1_000_000
        points += [
            ("ModelLatency", model_us, MICROSECONDS),
            ("OverheadLatency", overhead_us, MICROSECONDS),
        ]
    return points


def metric_data(invocation: Invocation, *, timestamp: datetime) -> list[dict[str, Any]]:
    """The request's data points in PutMetricData's `MetricData` form."""
    return [
        {
            "MetricName": name,
            "Dimensions": dimensions,
            "Value": value,
            "Unit": unit,
            "Timestamp": timestamp,
        }
        for dimensions in _dimension_sets(invocation)
        for name, value, unit in values(invocation)
    ]


def publish(account_id: str, region: str, invocation: Invocation, *, timestamp: datetime) -> None:
    """Put the request's data points into the emulator's CloudWatch, as SageMaker would."""
    from moto.cloudwatch.models import cloudwatch_backends

    naive_utc = timestamp.astimezone(UTC).replace(tzinfo=None)  # how moto stores timestamps
    cloudwatch_backends[account_id][region].put_metric_data(
        NAMESPACE, metric_data(invocation, timestamp=naive_utc)
    )
