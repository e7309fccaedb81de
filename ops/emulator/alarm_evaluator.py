"""Runs every metric alarm moto holds on the emulator's clock and carries out what changes.

`Evaluator.evaluate()` asks `ops.emulator.alarms` for the state each alarm's data calls for; a
change of state is set on moto's alarm (DescribeAlarms shows it), recorded in the alarm history
(DescribeAlarmHistory, `ops.emulator.alarm_history`), and, if the alarm's actions are enabled,
the state's actions run: an SNS topic ARN gets CloudWatch's alarm notification through moto's SNS
(delivered by `ops.emulator.delivery`). SetAlarmState goes through the same path, as in
CloudWatch, so a test or a drill can force a state and see the page.

The notification follows "Notifying users on alarm changes" and the alarm state change message
CloudWatch publishes to SNS
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html):
a JSON message with AlarmName, AlarmDescription, AWSAccountId, NewStateValue, NewStateReason,
StateChangeTime, Region, AlarmArn, OldStateValue, the actions and the Trigger (the metric or
metrics, statistic, period, threshold), under the subject `ALARM: "<name>" in <region name>`.
Left open there and chosen here: the region's display name is given for the regions below and is
the region code elsewhere; actions other than SNS topics (Auto Scaling, EC2, Systems Manager) are
recorded as failed, "not emulated".
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from ops.emulator import alarm_history, alarms, metric_math
from ops.emulator.clock import Clock

logger = logging.getLogger(__name__)

REGION_NAMES = {
    "eu-west-1": "EU (Ireland)",
    "eu-central-1": "EU (Frankfurt)",
    "us-east-1": "US East (N. Virginia)",
    "us-west-2": "US West (Oregon)",
}

_lock = threading.RLock()


def _backends() -> Iterator[tuple[str, str, Any]]:
    from moto.cloudwatch.models import cloudwatch_backends

    for account_id, regions in list(cloudwatch_backends.items()):
        for region, backend in list(regions.items()):
            yield account_id, region, backend


def _iso(value: datetime) -> str:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.strftime("%Y-%m-%dT%H:%M:%S.") + f"{aware.microsecond // 1000:03d}+0000"


def _trigger(alarm: Any) -> dict[str, Any]:
    trigger: dict[str, Any] = {
        "Period": alarms.period_of(alarm),
        "EvaluationPeriods": alarm.evaluation_periods,
        "DatapointsToAlarm": alarm.datapoints_to_alarm or alarm.evaluation_periods,
        "ComparisonOperator": alarm.comparison_operator,
        "Threshold": alarm.threshold,
        "TreatMissingData": alarm.treat_missing_data or "missing",
        "EvaluateLowSampleCountPercentile": alarm.evaluate_low_sample_count_percentile or "",
    }
    if not alarm.metric_data_queries:
        extended = alarm.extended_statistic
        trigger.update(
            {
                "MetricName": alarm.metric_name,
                "Namespace": alarm.namespace,
                "StatisticType": "ExtendedStatistic" if extended else "Statistic",
                "Statistic": extended or str(alarm.statistic).upper(),
                "Unit": alarm.unit,
                "Dimensions": [{"value": d.value, "name": d.name} for d in alarm.dimensions],
            }
        )
        return trigger
    metrics = []
    for query in alarm.metric_data_queries:
        entry: dict[str, Any] = {"Id": query.id, "ReturnData": alarms._returns_data(query)}
        if query.label:
            entry["Label"] = query.label
        if query.expression:
            entry["Expression"] = query.expression
        if query.metric_stat is not None:
            metric = query.metric_stat.metric
            entry["MetricStat"] = {
                "Metric": {
                    "Namespace": metric.namespace,
                    "MetricName": metric.metric_name,
                    "Dimensions": [{"value": d.value, "name": d.name} for d in metric.dimensions],
                },
                "Period": int(query.metric_stat.period),
                "Stat": query.metric_stat.stat,
            }
        metrics.append(entry)
    trigger["Metrics"] = metrics
    return trigger


def notification(
    alarm: Any, *, account_id: str, region: str, old_state: str, at: datetime
) -> tuple[str, str]:
    """(subject, message) of CloudWatch's SNS notification for the alarm's new state."""
    region_name = REGION_NAMES.get(region, region)
    message = {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": account_id,
        "AlarmConfigurationUpdatedTimestamp": _iso(alarm.configuration_updated_timestamp),
        "NewStateValue": alarm.state_value,
        "NewStateReason": alarm.state_reason,
        "StateChangeTime": _iso(at),
        "Region": region_name,
        "AlarmArn": alarm.alarm_arn,
        "OldStateValue": old_state,
        "OKActions": list(alarm.ok_actions),
        "AlarmActions": list(alarm.alarm_actions),
        "InsufficientDataActions": list(alarm.insufficient_data_actions),
        "Trigger": _trigger(alarm),
    }
    subject = f'{alarm.state_value}: "{alarm.name}" in {region_name}'
    return subject[:100], json.dumps(message)


def _run_action(arn: str, subject: str, message: str) -> None:
    from moto.sns.models import sns_backends

    parts = arn.split(":")
    if len(parts) < 6 or parts[2] != "sns":
        raise RuntimeError("not emulated: only SNS topic actions are carried out here")
    sns_backends[parts[4]][parts[3]].publish(message, arn=arn, subject=subject)


def record_transition(
    account_id: str, region: str, alarm: Any, *, old: tuple[str, str], at: datetime
) -> None:
    """History and actions for a state the alarm has just taken."""
    alarm_history.state_update(
        account_id,
        region,
        alarm_name=alarm.name,
        old=old,
        new=(alarm.state_value, alarm.state_reason, alarm.state_reason_data),
        at=at,
    )
    if not alarm.actions_enabled:
        return
    arns = {
        "ALARM": alarm.alarm_actions,
        "OK": alarm.ok_actions,
        alarms.INSUFFICIENT: alarm.insufficient_data_actions,
    }.get(alarm.state_value, [])
    if not arns:
        return
    subject, message = notification(
        alarm, account_id=account_id, region=region, old_state=old[0], at=at
    )
    for arn in arns:
        error = None
        try:
            _run_action(arn, subject, message)
        except Exception as failure:  # a failed action is history, not a crash of the evaluator
            error = str(failure) or type(failure).__name__
            logger.warning("alarm %s: action %s failed: %s", alarm.name, arn, error)
        alarm_history.action(account_id, region, alarm_name=alarm.name, arn=arn, error=error, at=at)


def _metrics_of(alarm: Any) -> set[tuple[str, str]]:
    """(namespace, metric name) of every metric the alarm reads."""
    if not alarm.metric_data_queries:
        return {(str(alarm.namespace), str(alarm.metric_name))}
    return {
        (str(q.metric_stat.metric.namespace), str(q.metric_stat.metric.metric_name))
        for q in alarm.metric_data_queries
        if q.metric_stat is not None
    }


class Recent:
    """A backend's data points by metric, taken in as they arrive and dropped once no alarm's
    evaluation range reaches them, so an evaluation reads its own metrics' recent points
    instead of every point the account ever published."""

    def __init__(self) -> None:
        self._taken = 0
        self._by_metric: defaultdict[tuple[str, str], list[Any]] = defaultdict(list)

    def take(self, metric_data: list[Any]) -> None:
        if len(metric_data) < self._taken:  # the backend was reset
            self._taken = 0
            self._by_metric.clear()
        for datum in metric_data[self._taken :]:
            self._by_metric[(datum.namespace, datum.name)].append(datum)
        self._taken += len(metric_data) - self._taken

    def drop_before(self, seconds: float) -> None:
        for key, data in list(self._by_metric.items()):
            kept = [d for d in data if alarms._epoch(d.timestamp) >= seconds]
            if len(kept) != len(data):
                self._by_metric[key] = kept

    def of(self, alarm: Any) -> list[Any]:
        found: list[Any] = []
        for key in _metrics_of(alarm):
            found += self._by_metric.get(key, [])
        return found


class Evaluator:
    """Evaluates alarms when their period completes; `start()` runs it on a thread."""

    def __init__(self, *, clock: Clock) -> None:
        self.clock = clock
        self._evaluated: dict[tuple[str, str, str], float] = {}
        self._recent: dict[tuple[str, str], Recent] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def evaluate(self, *, now: datetime | None = None) -> list[tuple[str, str, str]]:
        """Evaluate every alarm whose evaluation is due; (alarm, old state, new state) changed."""
        at = now or self.clock.now()
        seconds = at.timestamp()
        changes = []
        for account_id, region, backend in _backends():
            recent = self._recent.setdefault((account_id, region), Recent())
            due_alarms = []
            reach = 0.0  # the longest evaluation range, in real seconds
            for alarm in list(backend.alarms.values()):
                if alarm.rule is not None:  # composite alarms are not evaluated here
                    continue
                period = alarms.period_of(alarm) / self.clock.scale
                count = int(alarm.evaluation_periods) + alarms.EXTRA_RANGE_PERIODS
                reach = max(reach, period * (count + 1))
                cadence = min(alarms.period_of(alarm), alarms.EVALUATION_CADENCE_S)
                due = math.floor(seconds / (cadence / self.clock.scale))
                key = (account_id, region, alarm.name)
                if self._evaluated.get(key) == due:
                    continue
                self._evaluated[key] = due
                windows = alarms.Windows(
                    end=math.floor(seconds / period) * period, length=period, count=count
                )
                due_alarms.append((alarm, windows))
            if not due_alarms:
                continue
            recent.take(backend.metric_data)
            recent.drop_before(seconds - reach)
            for alarm, windows in due_alarms:
                data = recent.of(alarm)
                change = self._evaluate_one(account_id, region, alarm, data, windows, at)
                if change is not None:
                    changes.append(change)
        return changes

    def _evaluate_one(
        self,
        account_id: str,
        region: str,
        alarm: Any,
        data: list[Any],
        windows: alarms.Windows,
        at: datetime,
    ) -> tuple[str, str, str] | None:
        try:
            series = alarms.alarm_series(alarm, data, windows)
            if alarms._low_samples(alarm, data, windows):
                return None
            decision = alarms.decide(alarm, series, windows, at)
        except metric_math.MathError as error:
            logger.warning("alarm %s is not evaluated: %s", alarm.name, error)
            return None
        with _lock:
            if decision is None or decision.state == alarm.state_value:
                return None
            old = (alarm.state_value, alarm.state_reason)
            alarm.update_state(decision.reason, decision.reason_data, decision.state)
            alarm.state_updated_timestamp = at
        record_transition(account_id, region, alarm, old=old, at=at)
        return alarm.name, old[0], decision.state

    def start(self) -> Evaluator:
        def loop() -> None:
            while not self._stop.wait(alarms.TICK_S):
                try:
                    self.evaluate()
                except Exception:  # keep evaluating: one bad alarm must not stop the others
                    logger.exception("alarm evaluation failed")

        self._thread = threading.Thread(target=loop, name="alarm-evaluator", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


# --------------------------------------------------------------------------------------------
# moto: alarms start in INSUFFICIENT_DATA, keep state across updates, SetAlarmState acts.


def _stock(name: str) -> Any:
    from moto.cloudwatch.models import CloudWatchBackend

    return vars(CloudWatchBackend)[name]


_stock_put = _stock("put_metric_alarm")
_stock_set = _stock("set_alarm_state")


def _put_metric_alarm(self: Any, *args: Any, **kwargs: Any) -> Any:
    name = kwargs.get("name", args[0] if args else None)
    previous = self.alarms.get(name)
    alarm = _stock_put(self, *args, **kwargs)
    if previous is not None:
        alarm.state_value = previous.state_value
        alarm.state_reason = previous.state_reason
        alarm.state_reason_data = previous.state_reason_data
        alarm.state_updated_timestamp = previous.state_updated_timestamp
    else:
        alarm.state_value = alarms.INSUFFICIENT
    alarm_history.configuration_update(
        self.account_id,
        self.region_name,
        alarm_name=alarm.name,
        created=previous is None,
        at=datetime.now(UTC),
    )
    return alarm


def _set_alarm_state(
    self: Any, alarm_name: str, reason: str, reason_data: str, state_value: str
) -> None:
    with _lock:
        alarm = self.alarms.get(alarm_name)
        old = (alarm.state_value, alarm.state_reason) if alarm is not None else None
        _stock_set(self, alarm_name, reason, reason_data, state_value)
    if old is not None and old[0] != state_value:
        at = datetime.now(UTC)
        record_transition(self.account_id, self.region_name, alarm, old=old, at=at)


def patches() -> list[tuple[object, str, object]]:
    from moto.cloudwatch.models import CloudWatchBackend
    from moto.cloudwatch.responses import CloudWatchResponse

    return [
        (CloudWatchBackend, "put_metric_alarm", _put_metric_alarm),
        (CloudWatchBackend, "set_alarm_state", _set_alarm_state),
        (CloudWatchResponse, "describe_alarm_history", alarm_history.describe_alarm_history),
    ]
