"""The endpoint's alarms, per production variant: when each fires, whether it pages and whether
it rolls a deployment back.

Adding an alarm: a field on `Alarms` (with its own `AlarmRule` subclass when its threshold or
defaults differ) and an entry in the metric registry of `stacks/constructs/alarms.py`, which
says what SageMaker metric the alarm watches.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, StrictBool, StrictInt, model_validator

from configs.base import Strict, fail

# AutoRollbackConfig.Alarms: "Minimum number of 1 item. Maximum number of 10 items."
# (API_AutoRollbackConfig; AWS::SageMaker::Endpoint AutoRollbackConfig)
MAX_ROLLBACK_ALARMS = 10


class AlarmRule(Strict):
    """One CloudWatch alarm: when it fires, whether it rolls a deployment back and pages."""

    # An alarm on instance metrics: serverless variants have no instances to measure, so they
    # get no such alarm (and it counts for no rollback alarm there).
    instance_only: ClassVar[bool] = False

    enabled: StrictBool = True
    threshold: Annotated[float, Field(strict=False, gt=0)]
    # SageMaker publishes endpoint metrics every minute: periods are whole minutes.
    period_seconds: StrictInt = Field(
        60, ge=60, le=86400, multiple_of=60, description="Period in seconds, a multiple of 60."
    )
    evaluation_periods: StrictInt = Field(
        2, ge=1, le=1440, description="Periods evaluated, 1-1440."
    )
    datapoints_to_alarm: StrictInt | None = Field(
        None,
        ge=1,
        description="Breaching periods (of evaluation_periods) that fire the alarm; unset: all.",
    )
    rollback: StrictBool = Field(
        False, description="Roll a deployment back when this alarm fires during it."
    )
    page: StrictBool = Field(
        True, description="Send alarm and OK notifications to the paging topic."
    )

    @model_validator(mode="after")
    def _datapoints_within_periods(self) -> AlarmRule:
        if self.datapoints_to_alarm is not None and (
            self.datapoints_to_alarm > self.evaluation_periods
        ):
            fail(
                ("datapoints_to_alarm",),
                f"{self.datapoints_to_alarm} datapoints cannot fire within "
                f"{self.evaluation_periods} evaluation periods; lower it",
                value=self.datapoints_to_alarm,
            )
        return self

    def applies_to(self, *, serverless: bool) -> bool:
        """Whether a variant gets this alarm at all (enabled, and measurable on its hosting)."""
        return self.enabled and not (serverless and self.instance_only)


class ErrorRate5xx(AlarmRule):
    """Invocation 5XX errors as a percentage of invocations (metric math)."""

    threshold: Annotated[float, Field(strict=False, gt=0, le=100)] = Field(
        1.0, description="Percent of invocations answered 5XX, for example 1.0."
    )
    rollback: StrictBool = True


class ErrorRate4xx(AlarmRule):
    """Invocation 4XX errors as a percentage of invocations: callers sending bad input."""

    enabled: StrictBool = False
    threshold: Annotated[float, Field(strict=False, gt=0, le=100)] = Field(
        5.0, description="Percent of invocations answered 4XX, for example 5.0."
    )


class ModelLatencyP99(AlarmRule):
    """p99 ModelLatency: time the container takes to answer."""

    threshold: Annotated[float, Field(strict=False, gt=0)] = Field(
        500.0, description="p99 model latency in milliseconds, for example 500."
    )
    rollback: StrictBool = True


class OverheadLatencyP99(AlarmRule):
    """p99 OverheadLatency: time SageMaker adds around the container."""

    threshold: Annotated[float, Field(strict=False, gt=0)] = Field(
        100.0, description="p99 overhead latency in milliseconds, for example 100."
    )


class Utilization(AlarmRule):
    """An instance utilisation metric, in percent."""

    instance_only: ClassVar[bool] = True

    threshold: Annotated[float, Field(strict=False, gt=0, le=100)] = Field(
        90.0,
        description="Percent of the instance (CPU is scaled by the instance's vCPUs), for "
        "example 90.",
    )
    evaluation_periods: StrictInt = Field(
        5, ge=1, le=1440, description="Periods evaluated, 1-1440."
    )


class Alarms(Strict):
    """The endpoint's alarms, per production variant. Thresholds are per alarm."""

    error_rate_5xx: ErrorRate5xx = ErrorRate5xx()
    error_rate_4xx: ErrorRate4xx = ErrorRate4xx()
    model_latency_p99: ModelLatencyP99 = ModelLatencyP99()
    overhead_latency_p99: OverheadLatencyP99 = OverheadLatencyP99()
    cpu_utilization: Utilization = Utilization()
    memory_utilization: Utilization = Utilization()
    disk_utilization: Utilization = Utilization(threshold=80.0)

    def rules(self) -> dict[str, AlarmRule]:
        """Every alarm by its key, in the order the config declares them."""
        return {name: getattr(self, name) for name in type(self).model_fields}
