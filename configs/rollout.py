"""How a new model version replaces the running one: SageMaker's deployment guardrails.

Blue/green (all at once, canary, linear) or rolling. Sizes are a percentage of a variant's
instances or an instance count; percentages are ranged here, counts only once the variants'
instance counts are known (`capacity_problems`, run by a rule in `configs.rules`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import Field, StrictInt, StrictStr, field_validator

from configs.base import Finding, Strict, percent_of

# A capacity: a percentage of a variant's instances ("10%") or a number of instances (1).
# SageMaker's CapacitySize is {Type: CAPACITY_PERCENT | INSTANCE_COUNT, Value >= 1}
# (API_CapacitySize; AWS::SageMaker::Endpoint CapacitySize).
Capacity = (
    Annotated[StrictStr, Field(pattern=r"^[1-9][0-9]?%$|^100%$")]
    | Annotated[StrictInt, Field(ge=1)]
)


def _percent_between(value: str | int, *, low: int, high: int, what: str) -> str | int:
    percent = percent_of(value)
    if percent is not None and not low <= percent <= high:
        raise ValueError(f"{what} must be {low}-{high}% of the variant's instances")
    return value


# TrafficRoutingConfig.WaitIntervalInSeconds and RollingUpdatePolicy.WaitIntervalInSeconds:
# 0-3600 (API_TrafficRoutingConfig, API_RollingUpdatePolicy).
BakeSeconds = Annotated[StrictInt, Field(ge=0, le=3600)]


class AllAtOnce(Strict):
    """Blue/green: the new fleet takes all traffic in one step, then bakes."""

    bake_seconds: BakeSeconds = Field(
        300,
        description="Seconds the new fleet bakes with all traffic while the rollback alarms "
        "watch it, before the old fleet is let go (0-3600).",
    )


class Canary(Strict):
    """Blue/green canary: a small part of the new fleet first, then the rest."""

    size: Capacity = Field(
        "10%",
        description="Canary size: a percentage like '10%' (1-50%) or an instance count that is "
        "at most half of the variant's instances (TrafficRoutingConfig.CanarySize).",
    )
    bake_seconds: BakeSeconds = Field(
        600,
        description="Seconds the canary bakes while the rollback alarms watch it (0-3600).",
    )

    @field_validator("size", mode="after")
    @classmethod
    def _canary_percent(cls, value: str | int) -> str | int:
        # "Value must be less than or equal to 50% of the variant's total instance count."
        # (AWS::SageMaker::Endpoint TrafficRoutingConfig, CanarySize)
        return _percent_between(value, low=1, high=50, what="a canary")


class Linear(Strict):
    """Blue/green linear: the new fleet takes traffic in equal steps."""

    step: Capacity = Field(
        "20%",
        description="Step size: a percentage like '20%' (10-50%) or an instance count that is "
        "10-50% of the variant's instances (TrafficRoutingConfig.LinearStepSize).",
    )
    bake_seconds: BakeSeconds = Field(
        300, description="Seconds each step bakes while the rollback alarms watch it (0-3600)."
    )

    @field_validator("step", mode="after")
    @classmethod
    def _step_percent(cls, value: str | int) -> str | int:
        # "Value must be 10-50% of the variant's total instance count." (LinearStepSize)
        return _percent_between(value, low=10, high=50, what="a linear step")


class Rolling(Strict):
    """Rolling: the fleet is replaced batch by batch, without a second full fleet."""

    batch: Capacity = Field(
        "25%",
        description="Batch size: a percentage like '25%' (5-50%) or an instance count that is "
        "5-50% of the variant's instances (RollingUpdatePolicy.MaximumBatchSize).",
    )
    bake_seconds: BakeSeconds = Field(
        300, description="Seconds each batch bakes while the rollback alarms watch it (0-3600)."
    )
    rollback_batch: Capacity | None = Field(
        None,
        description="Batch size when rolling back, as a percentage or instance count; unset "
        "brings the whole old fleet back at once (RollingUpdatePolicy.RollbackMaximumBatchSize).",
    )

    @field_validator("batch", mode="after")
    @classmethod
    def _batch_percent(cls, value: str | int) -> str | int:
        # "Value must be between 5% to 50% of the variant's total instance count."
        # (API_RollingUpdatePolicy, MaximumBatchSize)
        return _percent_between(value, low=5, high=50, what="a rolling batch")


Strategy = Literal["all_at_once", "canary", "linear", "rolling"]


class Rollout(Strict):
    """How a new model version replaces the running one (SageMaker deployment guardrails)."""

    strategy: Strategy = Field(
        "all_at_once",
        description="all_at_once, canary or linear (blue/green traffic shifting), or rolling.",
    )
    all_at_once: AllAtOnce = AllAtOnce()
    canary: Canary = Canary()
    linear: Linear = Linear()
    rolling: Rolling = Rolling()
    # BlueGreenUpdatePolicy.TerminationWaitInSeconds: 0-3600 (API_BlueGreenUpdatePolicy).
    termination_wait_seconds: StrictInt = Field(
        0,
        ge=0,
        le=3600,
        description="Blue/green only: seconds the old fleet is kept after all traffic moved, "
        "so a late rollback is instant (0-3600).",
    )
    # MaximumExecutionTimeoutInSeconds: 600-28800 (API_BlueGreenUpdatePolicy,
    # API_RollingUpdatePolicy); it "should be larger than the total waiting time".
    max_execution_seconds: StrictInt | None = Field(
        None,
        ge=600,
        le=28800,
        description="Time limit of the whole deployment in seconds (600-28800); must exceed "
        "the bake and termination waits it contains. Unset: SageMaker's default.",
    )


# --------------------------------------------------------------------------------------------
# Instance-count sizes against the variants' instance counts (percentages are ranged above).
# Each check sees the rollout and the smallest and largest instance count of the variants.
# --------------------------------------------------------------------------------------------

CapacityCheck = Callable[[Rollout, int, int], list[Finding]]


def _canary_at_most_half(rollout: Rollout, smallest: int, largest: int) -> list[Finding]:
    size = rollout.canary.size
    if rollout.strategy != "canary" or not isinstance(size, int) or 2 * size <= smallest:
        return []
    return [
        Finding(
            ("rollout", "canary", "size"),
            f"a canary of {size} instance(s) is more than 50% of a variant with "
            f"{smallest} instance(s); use at most {smallest // 2} or a percentage",
            size,
        )
    ]


def _linear_step_in_range(rollout: Rollout, smallest: int, largest: int) -> list[Finding]:
    step = rollout.linear.step
    if rollout.strategy != "linear" or not isinstance(step, int):
        return []
    if 10 * step >= largest and 2 * step <= smallest:
        return []
    return [
        Finding(
            ("rollout", "linear", "step"),
            f"a linear step of {step} instance(s) must be 10-50% of every variant's "
            f"instances ({smallest}-{largest}); use a percentage or another count",
            step,
        )
    ]


def _rolling_batch_in_range(rollout: Rollout, smallest: int, largest: int) -> list[Finding]:
    batch = rollout.rolling.batch
    if rollout.strategy != "rolling" or not isinstance(batch, int):
        return []
    if 20 * batch >= largest and 2 * batch <= smallest:
        return []
    return [
        Finding(
            ("rollout", "rolling", "batch"),
            f"a rolling batch of {batch} instance(s) must be 5-50% of the variant's "
            f"{smallest} instance(s); use a percentage or another count",
            batch,
        )
    ]


def _rollback_batch_fits(rollout: Rollout, smallest: int, largest: int) -> list[Finding]:
    back = rollout.rolling.rollback_batch
    if rollout.strategy != "rolling" or not isinstance(back, int) or back <= smallest:
        return []
    return [
        Finding(
            ("rollout", "rolling", "rollback_batch"),
            f"a rollback batch of {back} instance(s) is more than the variant's "
            f"{smallest}; use at most {smallest} or a percentage",
            back,
        )
    ]


CAPACITY_CHECKS: tuple[CapacityCheck, ...] = (
    _canary_at_most_half,
    _linear_step_in_range,
    _rolling_batch_in_range,
    _rollback_batch_fits,
)


def capacity_problems(rollout: Rollout, *, smallest: int, largest: int) -> list[Finding]:
    """Every instance-count size of `rollout` that does not fit variants of these counts."""
    return [found for check in CAPACITY_CHECKS for found in check(rollout, smallest, largest)]


def planned_wait(rollout: Rollout, *, instances: int) -> int:
    """Seconds a rollout spends baking and waiting, by SageMaker's description of each type."""

    def steps(size: str | int) -> int:
        percent = percent_of(size)
        if percent is not None:
            return -(-100 // percent)
        return -(-instances // int(size))

    if rollout.strategy == "rolling":
        return steps(rollout.rolling.batch) * rollout.rolling.bake_seconds
    if rollout.strategy == "canary":
        # The canary bakes, then the whole new fleet bakes before the old one is let go.
        bake = 2 * rollout.canary.bake_seconds
    elif rollout.strategy == "linear":
        bake = steps(rollout.linear.step) * rollout.linear.bake_seconds
    else:
        bake = rollout.all_at_once.bake_seconds
    return bake + rollout.termination_wait_seconds
