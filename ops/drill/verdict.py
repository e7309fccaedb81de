"""Did every expected event of a drill happen, in order? The drill exits 0 only if so.

The faulty version: its new fleet serves requests; the alarm that watches the fault's metric
goes OK -> ALARM (and alarm history says so); exactly one page for that alarm reaches the
on-call's HTTP endpoint; SageMaker rolls back; the endpoint is InService on the previous
EndpointConfig again; `ops verify` fails and names the alarm. Then the good version: its new
fleet serves; the deployment completes (endpoint on the new config, stack UPDATE_COMPLETE); and
`ops verify` passes.

An alarm that never fires (a metric name or dimension SageMaker does not publish, a threshold
that cannot be crossed) fails the second expectation and all that follow: the drill says which.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ops.drill.timeline import Event, Timeline

# The first event that meets an expectation at or after a time (that of the expectation it follows).
Find = Callable[[Timeline, float], Event | None]


@dataclass(frozen=True)
class Expectation:
    """One expected event. `after`: the expectation it must not come before (default: the one
    listed just before it)."""

    name: str
    find: Find
    after: str | None = None
    missing: str = ""


@dataclass(frozen=True)
class Check:
    name: str
    event: Event | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _first(phase: str, kind: str, test: Callable[[Event], bool] = lambda e: True) -> Find:
    def find(timeline: Timeline, since: float) -> Event | None:
        return next(
            (e for e in timeline.of(phase, kind) if e.at >= since and test(e)),
            None,
        )

    return find


def _alarm_fired(timeline: Timeline, since: float) -> Event | None:
    def fired(e: Event) -> bool:
        return e.text.startswith(f"{timeline.fault_alarm}:") and e.text.endswith("-> ALARM")

    in_history = _first("faulty", "alarm-history", lambda e: timeline.fault_alarm in e.text)
    found = _first("faulty", "alarm", fired)(timeline, since)
    return found if found is not None and in_history(timeline, since) is not None else None


def _one_page(timeline: Timeline, since: float) -> Event | None:
    pages = [
        e
        for e in timeline.of("faulty", "page")
        if e.at >= since and e.text.startswith(f"{timeline.fault_alarm}:") and "-> ALARM" in e.text
    ]
    return pages[0] if len(pages) == 1 else None


def _on_config(phase: str, role: str) -> Find:
    def find(timeline: Timeline, since: float) -> Event | None:
        wanted = f"InService on {timeline.configs.get(role)}"
        return _first(phase, "endpoint", lambda e: e.text == wanted)(timeline, since)

    return find


def _names_alarm(phase: str, kind: str) -> Find:
    def find(timeline: Timeline, since: float) -> Event | None:
        return _first(phase, kind, lambda e: timeline.fault_alarm in e.text)(timeline, since)

    return find


def expectations() -> list[Expectation]:
    return [
        Expectation(
            "faulty version: new fleet serving",
            _first("faulty", "fleet-serving"),
            missing="no request reached the new fleet (SageMaker's metrics show none)",
        ),
        Expectation(
            "alarm OK -> ALARM (in alarm history)",
            _alarm_fired,
            missing="the alarm never went to ALARM: does it watch a metric name and dimensions "
            "SageMaker publishes, with a threshold the fault crosses?",
        ),
        Expectation(
            "one page for the alarm reached the on-call",
            _one_page,
            after="alarm OK -> ALARM (in alarm history)",
            missing="not exactly one ALARM notification for the alarm reached the pager",
        ),
        Expectation(
            "rollback started",
            _names_alarm("faulty", "rollback"),
            after="alarm OK -> ALARM (in alarm history)",
            missing="SageMaker did not roll the update back because of the alarm",
        ),
        Expectation(
            "endpoint back on the previous EndpointConfig",
            _on_config("faulty", "before"),
            missing="the endpoint is not InService on the previous EndpointConfig",
        ),
        Expectation(
            "ops verify fails and names the alarm",
            _names_alarm("faulty", "verify-failed"),
            missing="ops verify did not fail naming the alarm",
        ),
        Expectation(
            "good version: new fleet serving",
            _first("good", "fleet-serving"),
            missing="no request reached the good version's new fleet",
        ),
        Expectation(
            "good version: deployment completed",
            _on_config("good", "good"),
            missing="the endpoint did not end InService on the good version's EndpointConfig",
        ),
        Expectation(
            "good version: ops verify passes",
            _first("good", "verify-passed"),
            missing="ops verify did not pass after the good version",
        ),
    ]


def judge(timeline: Timeline) -> list[Check]:
    """Each expectation with the first event that meets it after the one it follows, or why
    it is not met."""
    checks: list[Check] = []
    found: dict[str, Event] = {}
    previous: str | None = None
    for expectation in expectations():
        follows = expectation.after or previous
        if follows is not None and follows not in found:
            problem = f"not checked: '{follows}' did not happen"
            checks.append(Check(expectation.name, None, problem))
            previous = expectation.name
            continue
        since = found[follows].at if follows is not None else timeline.started
        event = expectation.find(timeline, since)
        if event is not None:
            found[expectation.name] = event
        checks.append(Check(expectation.name, event, None if event else expectation.missing))
        previous = expectation.name
    return checks


def passed(checks: list[Check]) -> bool:
    return all(check.ok for check in checks)
