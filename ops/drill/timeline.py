"""What happened during a drill, as AWS reports it: the timeline and the recorder that fills it.

The recorder polls what an operator would look at, through the same APIs: DescribeEndpoint
(status, EndpointConfigName, PendingDeploymentSummary, FailureReason), DescribeAlarms and
DescribeAlarmHistory (the rollback alarms' states, then every change of them), DescribeStacks
(the stack's status), GetMetricData (SageMaker's invocation metrics per alarm period: all
invocations, those of the new fleet, 5XX errors, the new fleet's p99 ModelLatency) and the pages
the pager received. Each change becomes an `Event`; each alarm period a `Sample`. Times are
wall-clock seconds (`time.time()`).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ops.drill.pager import Page, Pager
from ops.drill.target import Alarm, Target
from ops.drill.traffic import Outcome

POLL_S = 0.2
# Alarm history is read again from this long before the newest item seen, in case an item
# with an earlier time is written after it.
HISTORY_OVERLAP = timedelta(seconds=5)
NAMESPACE = "AWS/SageMaker"


@dataclass(frozen=True)
class Event:
    at: float
    phase: str  # "setup", "faulty" or "good"
    kind: str
    text: str


@dataclass
class Sample:
    """One alarm period (an AWS minute, scaled) of SageMaker's invocation metrics."""

    start: float
    invocations: float = 0.0
    new_fleet: float = 0.0
    errors: float = 0.0
    p99_ms: float | None = None

    @property
    def share(self) -> float:
        return self.new_fleet / self.invocations if self.invocations else 0.0

    @property
    def error_rate(self) -> float:
        """5XX errors as a percentage of invocations, as the error-rate alarm computes it."""
        return 100 * self.errors / self.invocations if self.invocations else 0.0


@dataclass
class Timeline:
    """Everything the drill saw; `events` in the order they were seen."""

    started: float
    scale: float
    period: float  # real seconds of one alarm period
    alarms: tuple[Alarm, ...]
    fault_alarm: str
    configs: dict[str, str] = field(default_factory=dict)  # "before", "faulty", "good"
    events: list[Event] = field(default_factory=list)
    samples: dict[float, Sample] = field(default_factory=dict)
    states: list[tuple[float, str, str]] = field(default_factory=list)  # (at, alarm, state)
    pages: list[Page] = field(default_factory=list)
    traffic: list[Outcome] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, phase: str, kind: str, text: str, *, at: float | None = None) -> Event:
        event = Event(time.time() if at is None else at, phase, kind, text)
        with self._lock:
            self.events.append(event)
        return event

    def of(self, phase: str, kind: str) -> list[Event]:
        with self._lock:
            return [e for e in self.events if e.phase == phase and e.kind == kind]


def _dimensions(endpoint: str, variant: str, config: str | None = None) -> list[dict[str, str]]:
    found = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]
    if config is not None:
        found.append({"Name": "EndpointConfigName", "Value": config})
    return found


def _query(query_id: str, metric: str, dims: list[dict[str, str]], stat: str, period: int) -> Any:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {"Namespace": NAMESPACE, "MetricName": metric, "Dimensions": dims},
            "Period": period,
            "Stat": stat,
        },
    }


def _state_updates(cloudwatch: Any, *, since: datetime) -> list[dict[str, Any]]:
    """Alarm history's state changes from `since` on, oldest first, every page of them."""
    items: list[dict[str, Any]] = []
    token: dict[str, str] = {}
    while True:
        found = cloudwatch.describe_alarm_history(
            HistoryItemType="StateUpdate", StartDate=since, ScanBy="TimestampAscending", **token
        )
        items += found["AlarmHistoryItems"]
        if not found.get("NextToken"):
            return items
        token = {"NextToken": found["NextToken"]}


class Recorder:
    """Polls AWS on a thread and writes what changes into `timeline`.

    Args:
        client: makes a boto3 client for a service, pointed at the drill's AWS.
        phase: read at each poll; the command moves it from "setup" to "faulty" to "good".
    """

    def __init__(
        self, *, timeline: Timeline, target: Target, client: Callable[[str], Any], pager: Pager
    ) -> None:
        self.timeline = timeline
        self.target = target
        self.phase = "setup"
        self.phase_started = time.time()
        self.new_config: str | None = None
        self.creating = False  # a new fleet is starting (VariantStatus Creating)
        self._clients = {s: client(s) for s in ("sagemaker", "cloudwatch", "cloudformation")}
        self._pager = pager
        self._seen: dict[str, Any] = {}
        self._history_since: datetime | None = None  # set by the first alarm poll
        self._history_seen: set[tuple[str, datetime, str]] = set()
        self._serving: set[str] = set()  # phases whose new fleet was seen serving
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="drill-recorder", daemon=True)

    def start(self) -> Recorder:
        """Take the state before the drill changes anything, then follow it on a thread."""
        self._poll()
        self._thread.start()
        return self

    def begin(self, phase: str) -> None:
        """A new phase: its deployment's new fleet is not known yet."""
        self.new_config = None
        self.phase_started = time.time()
        self.phase = phase

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._guarded(self._poll_metrics)  # the last periods, complete now

    def _run(self) -> None:
        last_metrics = 0.0
        while not self._stop.wait(POLL_S):
            self._poll()
            if time.time() - last_metrics >= self.timeline.period / 2:
                last_metrics = time.time()
                self._guarded(self._poll_metrics)

    def _poll(self) -> None:
        self._guarded(self._poll_alarms)  # first: an alarm's change comes before what it causes
        self._guarded(self._poll_endpoint)
        self._guarded(self._poll_stack)
        self._poll_pages()
        self._poll_traffic()

    def _guarded(self, poll: Callable[[], None]) -> None:
        try:
            poll()
        except (BotoCoreError, ClientError) as error:
            self._changed("recorder-error", "error", str(error))

    def _changed(
        self, key: str, kind: str, value: Any, text: str | None = None, at: float | None = None
    ) -> bool:
        if self._seen.get(key) == value:
            return False
        self._seen[key] = value
        self.timeline.add(self.phase, kind, text if text is not None else str(value), at=at)
        return True

    def _poll_endpoint(self) -> None:
        found = self._clients["sagemaker"].describe_endpoint(EndpointName=self.target.endpoint)
        variants = found.get("ProductionVariants") or [{}]
        self._seen["variant"] = variants[0].get("VariantName", "primary")
        summary = found.get("PendingDeploymentSummary") or {}
        pending = summary.get("EndpointConfigName")
        if pending:
            self.new_config = pending
            self._changed("pending", "deploying", pending, f"new fleet from {pending}")
        fleets = summary.get("ProductionVariants") or [{}]
        stage = (fleets[0].get("VariantStatus") or [{}])[0]
        status, message = stage.get("Status"), stage.get("StatusMessage", "")
        if status:
            self._changed("stage", "stage", (status, message), f"new fleet {status}: {message}")
        self.creating = status == "Creating"
        reason = found.get("FailureReason")
        if reason:
            self._changed("failure", "rollback", reason, f"rolled back: {reason}")
        status, config = found["EndpointStatus"], found["EndpointConfigName"]
        self._changed("endpoint", "endpoint", (status, config), f"{status} on {config}")

    def _poll_alarms(self) -> None:
        """The rollback alarms' states as the drill starts, then every change from alarm history.

        Polling DescribeAlarms alone sees a state only if it lasts until the next poll: an alarm
        that fires and recovers within one poll (a poll takes longer on a loaded machine, and an
        alarm period is a second here) would go unseen although it paged and rolled back. Alarm
        history keeps each transition with its time, as CloudWatch does.
        """
        cloudwatch = self._clients["cloudwatch"]
        names = {alarm.name for alarm in self.timeline.alarms}
        if self._history_since is None:
            since = datetime.now(UTC)  # before the states are read: no change falls between
            found = cloudwatch.describe_alarms(AlarmNames=sorted(names))["MetricAlarms"]
            for alarm in found:
                updated = alarm.get("StateUpdatedTimestamp")
                at = min(time.time(), updated.timestamp()) if updated else time.time()
                self._alarm_state(alarm["AlarmName"], alarm["StateValue"], at=at)
            self._history_since = since
            return
        items = _state_updates(cloudwatch, since=self._history_since)
        if items:  # read again from a little before the newest: items are kept, not re-added
            self._history_since = max(item["Timestamp"] for item in items) - HISTORY_OVERLAP
        for item in items:
            name, stamp = item["AlarmName"], item["Timestamp"]
            key = (name, stamp, item.get("HistoryData", ""))
            if name not in names or key in self._history_seen:
                continue
            self._history_seen.add(key)
            new = json.loads(item.get("HistoryData") or "{}").get("newState", {}).get("stateValue")
            if new:
                self._alarm_state(name, new, at=stamp.timestamp())

    def _alarm_state(self, name: str, state: str, *, at: float) -> None:
        previous = self._seen.get(f"alarm:{name}")
        text = f"{name}: {previous} -> {state}"
        if self._changed(f"alarm:{name}", "alarm", state, text, at=at):
            self.timeline.states.append((at, name, state))

    def _poll_stack(self) -> None:
        stacks = self._clients["cloudformation"].describe_stacks(StackName=self.target.stack)
        status = stacks["Stacks"][0]["StackStatus"]
        self._changed("stack", "stack", status, f"{self.target.stack} {status}")

    def _poll_traffic(self) -> None:
        """The first answer of the endpoint's current fleet (its server starts on demand)."""
        if "traffic" in self._seen:
            return
        answered = next((o for o in self.timeline.traffic if o.status == 200), None)
        if answered is not None:
            self._seen["traffic"] = True
            text = f"{self.target.endpoint} answers example.json"
            self.timeline.add(self.phase, "traffic", text, at=answered.at)

    def _poll_pages(self) -> None:
        for page in self._pager.pages[len(self.timeline.pages) :]:
            self.timeline.pages.append(page)
            text = f"{page.alarm}: {page.old_state} -> {page.new_state} ({page.subject})"
            self.timeline.add(self.phase, "page", text, at=page.at)

    def _poll_metrics(self) -> None:
        period = max(1, round(self.timeline.period))
        now = time.time()
        end = math.floor(now / period) * period + period
        start = end - 4 * period
        variant = str(self._seen.get("variant", "primary"))
        both = _dimensions(self.target.endpoint, variant)
        queries = [
            _query("invocations", "Invocations", both, "Sum", period),
            _query("errors", "Invocation5XXErrors", both, "Sum", period),
        ]
        if self.new_config:
            fleet = _dimensions(self.target.endpoint, variant, self.new_config)
            queries += [
                _query("fleet", "Invocations", fleet, "Sum", period),
                _query("latency", "ModelLatency", fleet, "p99", period),
            ]
        results = self._clients["cloudwatch"].get_metric_data(
            MetricDataQueries=queries,
            StartTime=datetime.fromtimestamp(start, UTC),
            EndTime=datetime.fromtimestamp(end, UTC),
        )["MetricDataResults"]
        for result in results:
            for stamp, value in zip(result["Timestamps"], result["Values"], strict=False):
                self._sample(result["Id"], stamp.timestamp(), float(value))

    def _sample(self, query: str, at: float, value: float) -> None:
        if query in ("fleet", "latency") and at + self.timeline.period <= self.phase_started:
            return  # a period of the previous phase, whose new fleet was another
        sample = self.timeline.samples.setdefault(at, Sample(at))
        if query == "invocations":
            sample.invocations = value
        elif query == "errors":
            sample.errors = value
        elif query == "fleet":
            sample.new_fleet = value
            if value > 0 and self.phase not in self._serving and self.phase != "setup":
                self._serving.add(self.phase)
                share = sample.share
                self.timeline.add(
                    self.phase,
                    "fleet-serving",
                    f"new fleet {self.new_config} serving ({share:.0%} of that minute's requests)",
                    at=at,
                )
        elif query == "latency":
            sample.p99_ms = value / 1000
