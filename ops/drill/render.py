"""A drill's timeline as a picture (hand-written SVG), as Markdown (a job summary), as text and
as JSON (for tests and scripts).

The picture has one time axis (seconds since the drill's first traffic; at the default
`EMULATOR_TIME_SCALE` of 60 a second is an AWS minute) and, from the top: the new fleet's share
of traffic, the error rate against the error-rate alarm's threshold, the new fleet's p99 model
latency against the latency alarm's threshold, and each rollback alarm's state; vertical lines
mark the deployments, the alarm, the page, the rollback and the completion.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from html import escape

from ops.drill.timeline import Event, Sample, Timeline
from ops.drill.verdict import Check, passed

WIDTH, LEFT, RIGHT = 960, 70, 20
PANEL, GAP, TOP = 110, 34, 40
LABEL_SPACING, LABEL_ROW = 14, 130  # markers closer than this (px) stagger their labels down
STATE_COLOURS = {"OK": "#2e7d32", "ALARM": "#c62828", "INSUFFICIENT_DATA": "#9e9e9e"}
MARKED = {
    "deploying": ("#1565c0", "deploy"),
    "fleet-serving": ("#1565c0", "new fleet serving"),
    "page": ("#6a1b9a", "page"),
    "rollback": ("#c62828", "rollback"),
    "verify-failed": ("#c62828", "verify fails"),
    "verify-passed": ("#2e7d32", "verify passes"),
    "completed": ("#2e7d32", "completed"),
}


def _axis(timeline: Timeline) -> tuple[float, float]:
    times = [s.start for s in timeline.samples.values()] + [e.at for e in timeline.events]
    times = [t for t in times if t >= timeline.started]
    end = max(times, default=timeline.started + 1) + timeline.period
    return timeline.started, max(end, timeline.started + 1)


def _panel(
    top: float,
    title: str,
    samples: Sequence[Sample],
    value: Callable[[Sample], float | None],
    x: Callable[[float], float],
    *,
    period: float,
    ceiling: float,
    unit: str,
    threshold: float | None,
) -> list[str]:
    """One chart: the value per alarm period as steps, and the alarm's threshold."""

    def y(v: float) -> float:
        return top + PANEL - min(v, ceiling) / ceiling * PANEL

    parts = [
        f'<rect x="{LEFT}" y="{top}" width="{WIDTH - LEFT - RIGHT}" height="{PANEL}" '
        'fill="#fafafa" stroke="#ccc"/>',
        f'<text x="{LEFT}" y="{top - 6}" class="title">{escape(title)}</text>',
        f'<text x="{LEFT - 6}" y="{top + 4}" class="tick" text-anchor="end">'
        f"{ceiling:g}{unit}</text>",
        f'<text x="{LEFT - 6}" y="{top + PANEL}" class="tick" text-anchor="end">0</text>',
    ]
    lines: list[list[str]] = [[]]
    last = None
    for sample in samples:
        found = value(sample)
        if found is None:
            continue
        if last is not None and sample.start - last > period * 1.5:
            lines.append([])  # no data in between: a gap, not a line across it
        lines[-1].append(f"{x(sample.start):.1f},{y(found):.1f}")
        lines[-1].append(f"{x(sample.start + period):.1f},{y(found):.1f}")
        last = sample.start
    for points in lines:
        if points:
            parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="#1565c0"/>')
    if threshold is not None:
        ty = y(threshold)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}" '
            'stroke="#c62828" stroke-dasharray="6 4"/>'
            f'<text x="{WIDTH - RIGHT - 4}" y="{ty - 4:.1f}" class="tick" text-anchor="end" '
            f'fill="#c62828">alarm threshold {threshold:g}{unit}</text>'
        )
    return parts


def _states(timeline: Timeline, top: float, x: Callable[[float], float], end: float) -> list[str]:
    """A bar per rollback alarm, coloured by state; ALARM drawn last, at least 3 px wide, so a
    state held for a second stays visible."""
    parts = [f'<text x="{LEFT}" y="{top - 6}" class="title">rollback alarm states</text>']
    for row, alarm in enumerate(timeline.alarms):
        y = top + row * 18
        changes = sorted((at, state) for at, name, state in timeline.states if name == alarm.name)
        bars: list[tuple[bool, str]] = []
        for index, (at, state) in enumerate(changes):
            until = changes[index + 1][0] if index + 1 < len(changes) else end
            start = max(at, timeline.started)
            if until <= start:
                continue
            colour = STATE_COLOURS.get(state, "#9e9e9e")
            width = max(3.0, x(until) - x(start))
            bars.append(
                (
                    state == "ALARM",
                    f'<rect x="{x(start):.1f}" y="{y}" width="{width:.1f}" height="12" '
                    f'fill="{colour}"><title>{escape(state)}</title></rect>',
                )
            )
        parts += [bar for _, bar in sorted(bars, key=lambda b: b[0])]
        parts.append(
            f'<text x="{x(end) - 4:.1f}" y="{y + 10}" class="tick" text-anchor="end" '
            f'fill="#fff">{escape(alarm.name)}</text>'
        )
    return parts


def _marked(timeline: Timeline, event: Event) -> str | None:
    """The marker an event gets, if any: deployments, the new fleet, the page, the rollback,
    ops verify, and the good version's completion."""
    if event.kind == "endpoint" and event.phase == "good":
        done = event.text == f"InService on {timeline.configs.get('good')}"
        return "completed" if done else None
    return event.kind if event.kind in MARKED else None


def _markers(
    timeline: Timeline, top: float, bottom: float, x: Callable[[float], float]
) -> list[str]:
    """A vertical line per marked event (the first of its kind in each phase); labels of
    events close together are staggered down so they do not overlap."""
    parts: list[str] = []
    shown: set[tuple[str, str]] = set()
    labels: list[tuple[float, int]] = []  # (x, row) of the labels drawn so far
    for event in sorted(timeline.events, key=lambda e: e.at):
        kind = _marked(timeline, event)
        if kind is None or (event.phase, kind) in shown or event.at < timeline.started:
            continue
        shown.add((event.phase, kind))
        colour, label = MARKED[kind]
        ex = x(event.at)
        near = {row for lx, row in labels if abs(lx - ex) < LABEL_SPACING}
        row = next(r for r in range(len(labels) + 1) if r not in near)
        labels.append((ex, row))
        parts.append(
            f'<line x1="{ex:.1f}" x2="{ex:.1f}" y1="{top}" y2="{bottom}" stroke="{colour}" '
            'stroke-width="1" opacity="0.7"/>'
            f'<text transform="translate({ex + 3:.1f},{top + 4 + row * LABEL_ROW}) rotate(90)" '
            f'class="tick" fill="{colour}">{escape(event.phase)}: {escape(label)}</text>'
        )
    return parts


def svg(timeline: Timeline, *, title: str) -> str:
    start, end = _axis(timeline)
    span = end - start

    def x(t: float) -> float:
        return LEFT + (t - start) / span * (WIDTH - LEFT - RIGHT)

    samples = sorted(
        (s for s in timeline.samples.values() if s.start >= start), key=lambda s: s.start
    )
    error_alarm = next((a for a in timeline.alarms if a.unit == "%"), None)
    latency_alarm = next((a for a in timeline.alarms if a.unit == "ms"), None)
    worst_rate = max((s.error_rate for s in samples), default=0.0)
    worst_p99 = max((s.p99_ms or 0.0 for s in samples), default=0.0)
    rate_ceiling = max(worst_rate, (error_alarm.threshold if error_alarm else 1) * 2, 1.0)
    p99_ceiling = max(worst_p99, (latency_alarm.threshold if latency_alarm else 100) * 1.5)
    panels = [
        ("traffic share of the new fleet", lambda s: 100 * s.share, 100.0, "%", None),
        (
            "5XX error rate (both fleets, per alarm period)",
            lambda s: s.error_rate if s.invocations else None,
            round(rate_ceiling, 1),
            "%",
            error_alarm.threshold if error_alarm else None,
        ),
        (
            "p99 ModelLatency of the new fleet",
            lambda s: s.p99_ms,
            round(p99_ceiling),
            " ms",
            latency_alarm.threshold if latency_alarm else None,
        ),
    ]
    body: list[str] = []
    top = TOP + 20
    for name, value, ceiling, unit, threshold in panels:
        body += _panel(
            top,
            name,
            samples,
            value,
            x,
            period=timeline.period,
            ceiling=ceiling,
            unit=unit,
            threshold=threshold,
        )
        top += PANEL + GAP
    body += _states(timeline, top, x, end)
    bottom = top + 18 * len(timeline.alarms)
    body += _markers(timeline, TOP + 20, bottom, x)
    axis_y = bottom + 16
    for tick in range(0, int(span) + 1, max(5, int(span / 12) // 5 * 5 or 5)):
        body.append(
            f'<text x="{x(start + tick):.1f}" y="{axis_y}" class="tick" '
            f'text-anchor="middle">{tick}s</text>'
        )
    note = (
        f"seconds since the first request; EMULATOR_TIME_SCALE={timeline.scale:g}: "
        f"1 s here = {timeline.scale:g} s in AWS, one alarm period = {timeline.period:g} s"
    )
    body.append(f'<text x="{LEFT}" y="{axis_y + 18}" class="tick">{escape(note)}</text>')
    height = axis_y + 30
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif">'
        "<style>.title{font-size:13px;font-weight:bold}.tick{font-size:11px}</style>"
        f'<rect width="{WIDTH}" height="{height}" fill="#fff"/>'
        f'<text x="{LEFT}" y="24" font-size="16" font-weight="bold">{escape(title)}</text>'
        + "".join(body)
        + "</svg>\n"
    )


def _offset(timeline: Timeline, event: Event | None) -> str:
    return f"{event.at - timeline.started:6.1f}s" if event else "     - "


def text(timeline: Timeline, checks: list[Check]) -> str:
    """The console timeline: every event, then each expectation."""
    lines = ["timeline (seconds since the first request):"]
    for event in sorted(timeline.events, key=lambda e: e.at):
        lines.append(
            f"  {_offset(timeline, event)}  {event.phase:<6} {event.kind:<14} {event.text}"
        )
    lines.append("expected events:")
    for check in checks:
        mark = "ok  " if check.ok else "MISS"
        lines.append(f"  {mark} {_offset(timeline, check.event)}  {check.name}")
        if check.problem:
            lines.append(f"         {check.problem}")
    return "\n".join(lines) + "\n"


def markdown(timeline: Timeline, checks: list[Check], *, title: str, picture: str) -> str:
    """The job summary: the verdict, each expectation, then the events."""
    verdict = "passed" if passed(checks) else "FAILED"
    lines = [f"### Fire drill: {title}: {verdict}", "", f"Picture: `{picture}`", ""]
    lines += ["| | expected | at | evidence |", "|---|---|---|---|"]
    for check in checks:
        evidence = check.event.text if check.event else (check.problem or "")
        mark = "✅" if check.ok else "❌"
        at = _offset(timeline, check.event).strip()
        lines.append(f"| {mark} | {check.name} | {at} | {evidence.replace('|', '/')} |")
    lines += ["", "<details><summary>Timeline</summary>", "", "| at | phase | event |"]
    lines.append("|---|---|---|")
    for event in sorted(timeline.events, key=lambda e: e.at):
        lines.append(
            f"| {_offset(timeline, event).strip()} | {event.phase} | "
            f"{event.kind}: {event.text.replace('|', '/')} |"
        )
    lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def json_report(timeline: Timeline, checks: list[Check]) -> str:
    """The verdict and every event, times in seconds since the first request."""

    def offset(event: Event | None) -> float | None:
        return round(event.at - timeline.started, 3) if event else None

    report = {
        "passed": passed(checks),
        "scale": timeline.scale,
        "fault_alarm": timeline.fault_alarm,
        "configs": timeline.configs,
        "checks": [
            {"name": c.name, "ok": c.ok, "at": offset(c.event), "problem": c.problem}
            | {"evidence": c.event.text if c.event else None}
            for c in checks
        ],
        "events": [
            {"at": offset(e), "phase": e.phase, "kind": e.kind, "text": e.text}
            for e in sorted(timeline.events, key=lambda e: e.at)
        ],
        "requests": len(timeline.traffic),
    }
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
