"""CloudWatch alarm evaluation for every metric alarm moto holds.

Follows "Using Amazon CloudWatch alarms", sections "Evaluating an alarm" and "Configuring how
CloudWatch alarms treat missing data"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html):

- each period's data points are reduced by the alarm's statistic (Sum, Average, Minimum, Maximum,
  SampleCount) or extended statistic (pNN), or combined by its metric math expression;
- an alarm with `DatapointsToAlarm` M and `EvaluationPeriods` N goes to ALARM when M of the last
  N data points breach the threshold, and to OK otherwise;
- CloudWatch reads an evaluation range longer than N periods. With at least N real data points
  in it, the most recent N decide. With fewer, every real point counts, and the missing ones up
  to N are filled as `TreatMissingData` says: `breaching`, `notBreaching`; with `missing` or
  `ignore` they are left out. With no data point at all: `missing` gives INSUFFICIENT_DATA,
  `ignore` keeps the state, `breaching` gives ALARM, `notBreaching` gives OK;
- `EvaluateLowSampleCountPercentile: ignore` keeps the state while a percentile has fewer samples
  than it needs to mean anything (1 / (1 - p/100), for p99 100 samples).

What the pages leave open, and the choices made here:

- The evaluation range is N + 2 periods (the page's worked example reads 5 points for N = 3).
- Only complete periods are evaluated, aligned to multiples of the period since the epoch; a new
  evaluation happens each time a period of at most one (AWS) minute has completed, the
  page's "every minute".
- A new alarm starts in INSUFFICIENT_DATA (moto starts it in OK); PutMetricAlarm on an existing
  alarm keeps its state and history, as CloudWatch does.
- Percentiles use the nearest-rank method on the raw values (CloudWatch does not document its
  interpolation); aggregated StatisticValues count for the other statistics only.
- Periods are scaled by `EMULATOR_TIME_SCALE` (`ops.emulator.clock`): a 60-second period lasts
  one second at the default scale. Data points keep real timestamps.
"""

from __future__ import annotations

import json
import logging
import math
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ops.emulator import metric_math

logger = logging.getLogger(__name__)

EXTRA_RANGE_PERIODS = 2
EVALUATION_CADENCE_S = 60.0  # CloudWatch evaluates alarms every minute (AWS time)
TICK_S = 0.05  # how often the evaluator thread looks at the (real) clock

INSUFFICIENT = "INSUFFICIENT_DATA"
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": operator.gt,
    "GreaterThanOrEqualToThreshold": operator.ge,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}
WORDS = {
    "GreaterThanThreshold": "greater than",
    "GreaterThanOrEqualToThreshold": "greater than or equal to",
    "LessThanThreshold": "less than",
    "LessThanOrEqualToThreshold": "less than or equal to",
}


def _epoch(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _dimensions(items: Iterable[Any]) -> frozenset[tuple[str, str]]:
    pairs = set()
    for item in items:
        if isinstance(item, dict):
            pairs.add((str(item.get("Name")), str(item.get("Value"))))
        else:
            pairs.add((str(item.name), str(item.value)))
    return frozenset(pairs)


def _percentile(stat: str) -> float | None:
    if stat.lower().startswith("p"):
        try:
            return float(stat[1:])
        except ValueError:
            return None
    return None


def reduce(stat: str, datums: list[Any]) -> float | None:
    """One period's statistic over moto's data points (values and statistic sets)."""
    if not datums:
        return None
    singles = [float(d.value) for d in datums if hasattr(d, "value")]
    sets = [d for d in datums if not hasattr(d, "value")]
    count = len(singles) + sum(float(d.sample_count) for d in sets)
    total = sum(singles) + sum(float(d.sum) for d in sets)
    percentile = _percentile(stat)
    if percentile is not None:
        if not singles:
            return None
        ordered = sorted(singles)
        rank = max(1, math.ceil(percentile / 100 * len(ordered)))
        return ordered[rank - 1]
    name = stat.lower()
    if name == "samplecount":
        return count
    if name == "sum":
        return total
    if name == "average":
        return total / count if count else None
    if name in ("minimum", "maximum"):
        pick = min if name == "minimum" else max
        candidates = singles + [float(d.min if name == "minimum" else d.max) for d in sets]
        return pick(candidates)
    raise metric_math.MathError(f"statistic {stat!r} is not supported here")


@dataclass(frozen=True)
class Windows:
    """The evaluation range: `count` periods of `length` real seconds ending at `end`."""

    end: float
    length: float
    count: int

    @property
    def start(self) -> float:
        return self.end - self.length * self.count

    def starts(self) -> list[float]:
        return [self.start + i * self.length for i in range(self.count)]

    def index(self, seconds: float) -> int | None:
        if not self.start <= seconds < self.end:
            return None
        return int((seconds - self.start) // self.length)


def metric_series(
    data: list[Any],
    windows: Windows,
    *,
    namespace: str,
    name: str,
    dimensions: Iterable[Any],
    stat: str,
    unit: str | None = None,
) -> metric_math.Series:
    """The metric's statistic per period; CloudWatch matches dimensions exactly."""
    wanted = _dimensions(dimensions)
    buckets: list[list[Any]] = [[] for _ in range(windows.count)]
    for datum in data:
        if datum.namespace != namespace or datum.name != name:
            continue
        if unit and datum.unit and datum.unit != unit:
            continue
        index = windows.index(_epoch(datum.timestamp))
        if index is None or _dimensions(datum.dimensions) != wanted:
            continue
        buckets[index].append(datum)
    series: metric_math.Series = {}
    for start, bucket in zip(windows.starts(), buckets, strict=True):
        value = reduce(stat, bucket)
        if value is not None:
            series[_utc(start)] = value
    return series


def period_of(alarm: Any) -> int:
    if alarm.metric_data_queries:
        for query in alarm.metric_data_queries:
            if query.metric_stat is not None and query.metric_stat.period:
                return int(query.metric_stat.period)
            if query.period:
                return int(query.period)
    return int(alarm.period or 60)


def _returns_data(query: Any) -> bool:
    return str(query.return_data).lower() not in ("false", "0")


def _query_values(
    alarm: Any, data: list[Any], windows: Windows
) -> tuple[dict[str, metric_math.Value], metric_math.MathError | None]:
    """Each query's value by id: metrics first, then expressions (which may use each other);
    the last problem met computing an expression, if any."""
    values: dict[str, metric_math.Value] = {}
    pending = []
    for query in alarm.metric_data_queries:
        if query.metric_stat is not None:
            metric = query.metric_stat.metric
            values[query.id] = metric_series(
                data,
                windows,
                namespace=metric.namespace,
                name=metric.metric_name,
                dimensions=metric.dimensions,
                stat=query.metric_stat.stat,
                unit=query.metric_stat.unit,
            )
        else:
            pending.append(query)
    problem: metric_math.MathError | None = None
    for _ in range(len(pending)):  # expressions may use each other: one more each pass
        for query in pending:
            if query.id in values:
                continue
            try:
                values[query.id] = metric_math.evaluate(metric_math.parse(query.expression), values)
            except metric_math.MathError as error:
                problem = error
    return values, problem


def alarm_series(alarm: Any, data: list[Any], windows: Windows) -> metric_math.Series:
    """The time series the alarm compares with its threshold."""
    if not alarm.metric_data_queries:
        return metric_series(
            data,
            windows,
            namespace=alarm.namespace,
            name=alarm.metric_name,
            dimensions=alarm.dimensions,
            stat=alarm.extended_statistic or alarm.statistic,
            unit=alarm.unit,
        )
    values, problem = _query_values(alarm, data, windows)
    returned = [q for q in alarm.metric_data_queries if _returns_data(q)]
    if len(returned) != 1:
        raise metric_math.MathError("the alarm's metrics must return exactly one time series")
    if returned[0].id not in values:
        raise problem or metric_math.MathError(f"cannot compute {returned[0].id!r}")
    result = values[returned[0].id]
    if not isinstance(result, dict):
        return {_utc(start): float(result) for start in windows.starts()}
    return result


@dataclass(frozen=True)
class Decision:
    state: str
    reason: str
    reason_data: str


def _low_samples(alarm: Any, data: list[Any], windows: Windows) -> bool:
    percentile = _percentile(alarm.extended_statistic or "")
    if percentile is None or alarm.evaluate_low_sample_count_percentile != "ignore":
        return False
    needed = 1 / (1 - percentile / 100) if percentile < 100 else 1
    counts = metric_series(
        data,
        windows,
        namespace=alarm.namespace,
        name=alarm.metric_name,
        dimensions=alarm.dimensions,
        stat="SampleCount",
    )
    return any(count < needed for count in counts.values())


def decide(
    alarm: Any, series: metric_math.Series, windows: Windows, now: datetime
) -> Decision | None:
    """The state the data calls for, or None to keep the current one."""
    compare = COMPARISONS.get(alarm.comparison_operator)
    if compare is None or alarm.threshold is None:
        return None
    threshold = float(alarm.threshold)
    needed = int(alarm.evaluation_periods)
    to_alarm = int(alarm.datapoints_to_alarm or needed)
    treat = (alarm.treat_missing_data or "missing").strip()
    present = sorted(
        ((t, v) for t, v in series.items() if _epoch(t) >= windows.start), reverse=True
    )
    if len(present) >= needed:
        points, filled = present[:needed], 0
    else:
        points, filled = present, needed - len(present)
    breaching = sum(1 for _, value in points if compare(value, threshold))
    if not present:
        if treat == "ignore":
            return None
        if treat in ("missing", ""):
            return _insufficient(alarm, filled, windows, now)
    if treat == "breaching":
        breaching += filled
    state = "ALARM" if breaching >= to_alarm else "OK"
    word = WORDS[alarm.comparison_operator]
    shown = ", ".join(f"{value} ({t:%d/%m/%y %H:%M:%S})" for t, value in points)
    count = len(points) + (filled if treat in ("breaching", "notBreaching") else 0)
    if state == "ALARM":
        what = f"{breaching} out of the last {count} datapoints [{shown}] were {word}"
        minimum = f"minimum {to_alarm} datapoints for OK -> ALARM transition"
    else:
        what = f"{count - breaching} out of the last {count} datapoints [{shown}] were not {word}"
        minimum = "minimum 1 datapoint for ALARM -> OK transition"
    reason = f"Threshold Crossed: {what} the threshold ({threshold}) ({minimum})."
    return Decision(state, reason, _reason_data(alarm, points, windows, now))


def _insufficient(alarm: Any, missing: int, windows: Windows, now: datetime) -> Decision:
    reason = f"Insufficient Data: {missing} datapoints were unknown."
    return Decision(INSUFFICIENT, reason, _reason_data(alarm, [], windows, now))


def _reason_data(
    alarm: Any, points: list[tuple[datetime, float]], windows: Windows, now: datetime
) -> str:
    data: dict[str, Any] = {
        "version": "1.0",
        "queryDate": now.isoformat(),
        "startDate": _utc(windows.start).isoformat(),
        "period": period_of(alarm),
        "recentDatapoints": [value for _, value in reversed(points)],
        "threshold": alarm.threshold,
        "evaluatedDatapoints": [
            {"timestamp": t.isoformat(), "value": value} for t, value in points
        ],
    }
    if not alarm.metric_data_queries:
        data["statistic"] = alarm.extended_statistic or alarm.statistic
    return json.dumps(data)
