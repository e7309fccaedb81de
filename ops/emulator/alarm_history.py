"""CloudWatch alarm history: what DescribeAlarmHistory answers, kept per account and region.

moto 5.2.5 has no DescribeAlarmHistory, and keeps a little history on each alarm object, which
PutMetricAlarm replaces (every CloudFormation update of an alarm). CloudWatch keeps the history by
alarm name, across updates, with three kinds of items this emulator produces:

- `ConfigurationUpdate`: "Alarm "<name>" created" / "updated";
- `StateUpdate`: "Alarm updated from OK to ALARM", with the old and new state in `HistoryData`;
- `Action`: "Successfully executed action <arn>" (or "Failed to execute action <arn>").

Follows "DescribeAlarmHistory" in the CloudWatch API Reference
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarmHistory.html)
and "AlarmHistoryItem" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_AlarmHistoryItem.html).
Left open there and chosen here: the exact wording of `HistoryData` (a JSON document with
`version`, `oldState` and `newState`, as the console shows it); history is never aged out
(CloudWatch keeps 30 days); items of a deleted alarm stay, as in CloudWatch.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAX_RECORDS = 100


@dataclass(frozen=True)
class HistoryItem:
    alarm_name: str
    timestamp: datetime
    item_type: str
    summary: str
    data: str
    alarm_type: str = "MetricAlarm"

    def response(self) -> dict[str, Any]:
        return {
            "AlarmName": self.alarm_name,
            "AlarmType": self.alarm_type,
            "Timestamp": self.timestamp,
            "HistoryItemType": self.item_type,
            "HistorySummary": self.summary,
            "HistoryData": self.data,
        }


_items: dict[tuple[str, str], list[HistoryItem]] = defaultdict(list)
_lock = threading.Lock()


def record(account_id: str, region: str, item: HistoryItem) -> None:
    with _lock:
        _items[(account_id, region)].append(item)


def configuration_update(
    account_id: str, region: str, *, alarm_name: str, created: bool, at: datetime
) -> None:
    verb = "created" if created else "updated"
    record(
        account_id,
        region,
        HistoryItem(
            alarm_name,
            at,
            "ConfigurationUpdate",
            f'Alarm "{alarm_name}" {verb}',
            json.dumps({"version": "1.0", "type": verb.capitalize()}),
        ),
    )


def state_update(
    account_id: str,
    region: str,
    *,
    alarm_name: str,
    old: tuple[str, str],
    new: tuple[str, str, str],
    at: datetime,
) -> None:
    """Record a transition: `old` is (state, reason); `new` is (state, reason, reason data)."""
    data = {
        "version": "1.0",
        "oldState": {"stateValue": old[0], "stateReason": old[1]},
        "newState": {
            "stateValue": new[0],
            "stateReason": new[1],
            "stateReasonData": json.loads(new[2] or "{}"),
        },
    }
    summary = f"Alarm updated from {old[0]} to {new[0]}"
    record(
        account_id, region, HistoryItem(alarm_name, at, "StateUpdate", summary, json.dumps(data))
    )


def action(
    account_id: str, region: str, *, alarm_name: str, arn: str, error: str | None, at: datetime
) -> None:
    if error is None:
        summary = f"Successfully executed action {arn}"
        data: dict[str, Any] = {"actionState": "Succeeded", "notificationResource": arn}
    else:
        summary = f"Failed to execute action {arn}"
        data = {"actionState": "Failed", "notificationResource": arn, "error": error}
    record(account_id, region, HistoryItem(alarm_name, at, "Action", summary, json.dumps(data)))


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(value, UTC)
    if not isinstance(value, datetime):
        raise ValueError(f"not a date: {value!r}")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def describe(
    account_id: str,
    region: str,
    *,
    alarm_name: str | None = None,
    item_type: str | None = None,
    start: Any = None,
    end: Any = None,
    newest_first: bool = True,
) -> list[HistoryItem]:
    """Items as DescribeAlarmHistory selects them, newest first unless asked otherwise."""
    start_at, end_at = _aware(start), _aware(end)
    with _lock:
        items = list(_items.get((account_id, region), []))
    chosen = [
        item
        for item in items
        if (alarm_name is None or item.alarm_name == alarm_name)
        and (item_type is None or item.item_type == item_type)
        and (start_at is None or item.timestamp >= start_at)
        and (end_at is None or item.timestamp <= end_at)
    ]
    chosen.sort(key=lambda item: item.timestamp, reverse=newest_first)
    return chosen


def forget() -> None:
    """Drop all history (tests: moto's own state is reset between them too)."""
    with _lock:
        _items.clear()


def describe_alarm_history(self: Any) -> Any:
    """CloudWatchResponse.describe_alarm_history: the API action moto 5.2.5 lacks."""
    from moto.core.responses import ActionResult

    types = self._get_param("AlarmTypes") or ["MetricAlarm", "CompositeAlarm"]
    items = [
        item
        for item in describe(
            self.current_account,
            self.region,
            alarm_name=self._get_param("AlarmName"),
            item_type=self._get_param("HistoryItemType"),
            start=self._get_param("StartDate"),
            end=self._get_param("EndDate"),
            newest_first=self._get_param("ScanBy", "TimestampDescending") != "TimestampAscending",
        )
        if item.alarm_type in types
    ]
    offset = int(self._get_param("NextToken") or 0)
    limit = int(self._get_param("MaxRecords") or MAX_RECORDS)
    page = items[offset : offset + limit]
    result: dict[str, Any] = {"AlarmHistoryItems": [item.response() for item in page]}
    if offset + limit < len(items):
        result["NextToken"] = str(offset + limit)
    return ActionResult(result)
