"""One data-quality run, as Model Monitor's job does it, over what the emulator captured.

Read the endpoint's captured requests, compute their statistics with the same library that built
the baseline at synth (`bundler.baseline`), compare them with the deployed baseline, write
`constraint_violations.json` and `statistics.json`, publish Model Monitor's CloudWatch metrics
(`ops.drift.metrics`) and render the report (`ops.drift.report`).

Columns: a captured request carries its features by position (`_c0`, `_c1`, ... as Model
Monitor names the columns of headerless CSV) or by name (JSON objects). Positional columns are
given the monitored features' names in the order the config declares as "the order a request
lists them" (the stack's metadata carries it; the baseline's order otherwise); a request with
more values than there are features keeps the extra positions as `_c<n>`, which the check
reports as extra columns.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bundler.baseline import Dataset, check, compute_statistics, dumps
from ops.drift import captured, metrics, report

POSITIONAL = re.compile(r"^_c(\d+)$")


class NothingCaptured(RuntimeError):
    """No captured request to check (in the window asked for)."""


@dataclass(frozen=True)
class Target:
    """What a run checks, as deployed.

    Args:
        destination: the serving EndpointConfig's `DataCaptureConfig.DestinationS3Uri`.
        statistics / constraints: the baseline files in the cloud assembly.
        schedule: the MonitoringSchedule's name (a metric dimension).
        features: the monitored features in the order a request lists them (empty: the
            baseline's order).
    """

    stack: str
    endpoint: str
    schedule: str
    destination: str
    statistics: Path
    constraints: Path
    features: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    violations: list[dict[str, str]]
    distances: dict[str, float]
    folder: Path
    report: Path
    published: int
    rows: int
    records: int


def named(rows: list[captured.Row], features: list[str]) -> list[dict[str, object]]:
    """Rows with positional columns renamed to the baseline's features, in order."""
    renamed: list[dict[str, object]] = []
    for row in rows:
        out: dict[str, object] = {}
        for key, value in row.items():
            found = POSITIONAL.match(key)
            index = int(found.group(1)) if found else -1
            out[features[index] if 0 <= index < len(features) else key] = value
        renamed.append(out)
    return renamed


def _columns(rows: list[dict[str, object]], features: list[str]) -> list[str]:
    """The baseline's features that appear, in its order, then any other column seen."""
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return [f for f in features if f in seen] + [c for c in seen if c not in features]


def _threshold(constraints: dict[str, Any]) -> float | None:
    config = constraints.get("monitoring_config", {}).get("distribution_constraints", {})
    value = config.get("comparison_threshold")
    return float(value) if value is not None else None


def run(
    *,
    target: Target,
    s3: Any,
    cloudwatch: Any,
    folder: Path,
    since: str | None = None,
    at: datetime | None = None,
) -> Outcome:
    """Check what `target`'s endpoint captured since `since` against its baseline.

    Raises:
        NothingCaptured: no captured request in the window.
        captured.CaptureFormatError: a captured object that cannot be read.
    """
    parsed = captured.read_s3(
        s3, destination=target.destination, endpoint=target.endpoint, since=since
    )
    if not parsed.rows:
        where = f"{target.destination}/{target.endpoint}/"
        skipped = ", ".join(f"{n} {kind}" for kind, n in parsed.skipped.items())
        detail = f" ({parsed.records} records, skipped: {skipped})" if skipped else ""
        window = f" since {since}" if since else ""
        raise NothingCaptured(
            f"no captured requests for {target.endpoint} under {where}{window}{detail}; "
            "send traffic to the endpoint first (data capture samples a share of requests)"
        )
    baseline = json.loads(target.statistics.read_text())
    constraints = json.loads(target.constraints.read_text())
    features = list(target.features) or [feature["name"] for feature in baseline["features"]]
    rows = named(parsed.rows, features)
    dataset = Dataset.from_records(rows, names=_columns(rows, features))
    current = compute_statistics(dataset)
    result = check(current=current, baseline=baseline, constraints=constraints)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "statistics.json").write_bytes(dumps(current))
    (folder / "constraint_violations.json").write_bytes(dumps(result.document()))
    shutil.copyfile(target.statistics, folder / "baseline_statistics.json")
    shutil.copyfile(target.constraints, folder / "baseline_constraints.json")
    published = 0
    emit = constraints.get("monitoring_config", {}).get("emit_metrics", "Enabled") == "Enabled"
    if emit:
        points = metrics.metric_data(
            statistics=current,
            distances=result.distances,
            endpoint=target.endpoint,
            schedule=target.schedule,
            at=at or datetime.now(UTC),
        )
        published = metrics.publish(cloudwatch, points)
    violations = result.document()["violations"]
    summary = report.Run(
        title=f"{target.stack} ({target.endpoint})",
        window=(parsed.first or "", parsed.last or ""),
        rows=len(parsed.rows),
        records=parsed.records,
        threshold=_threshold(constraints),
        violations=violations,
        distances=result.distances,
        baseline=baseline,
        current=current,
    )
    path = report.render(summary, folder)
    return Outcome(
        violations=violations,
        distances=result.distances,
        folder=folder,
        report=path,
        published=published,
        rows=len(parsed.rows),
        records=parsed.records,
    )
