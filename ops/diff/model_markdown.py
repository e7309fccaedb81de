"""The comment's "Model changes" section: per changed model, how its answers change.

One table per model (the metric on the evaluation set against its bar, how many answers
changed, latency per request, bundle size, changed hyperparameters, and the MLflow run behind
each side's weights with its parameters and held-out metric; base and head side by side),
notes, then the changed answers and the largest numeric moves, collapsed. A model with no base
shows the head's figures only. `compact` leaves the collapsed rows out, for comments
that would not fit otherwise.
"""

from __future__ import annotations

from ops.diff.models import ModelChange, ModelReport
from ops.evaluation.compare import Changed, Comparison, Delta
from ops.runs.weights import TrainedBy

HEADING = "### Model changes"
REGRESSION_LABEL = "allow-regression"
RUN_METRIC = "test_accuracy"  # the held-out metric every job records, when no quality.metric


def _text(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def _size(size: int) -> str:
    return f"{size / 1024:.1f} KiB" if size < 2**20 else f"{size / 2**20:.1f} MiB"


def _metric(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}".rstrip("0").rstrip(".")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} ms"


def _metric_row(change: ModelChange, comparison: Comparison) -> str:
    bar = f", bar {change.threshold}" if change.threshold else ""
    head = _metric(comparison.head_metric)
    if change.failures:
        head = f"**{head}** ⛔"
    return (
        f"| {comparison.metric} on {comparison.answers} evaluation answers{bar} | "
        f"{_metric(comparison.base_metric)} | {head} |"
    )


def _rows(change: ModelChange) -> list[str]:
    comparison, base, head = change.comparison, change.base, change.head
    rows = ["| | base | head |", "|---|---|---|"]
    if comparison is not None:
        if comparison.metric is not None:
            rows.append(_metric_row(change, comparison))
        if comparison.has_base:
            rows.append(
                f"| answers changed | | {comparison.changed} of {comparison.answers} "
                f"({comparison.identical} of {comparison.requests} responses identical) |"
            )
        rows.append(
            f"| latency per request, median (indicative) | {_ms(comparison.base_ms)} | "
            f"{_ms(comparison.head_ms)} |"
        )
    before = f"{_size(base.size)} `{base.sha256[:12]}`" if base else "-"
    after = f"{_size(head.size)} `{head.sha256[:12]}`"
    rows.append(f"| bundle | {before} | {after}{'' if change.bundle_changed else ' (same)'} |")
    for name, old, new in change.hyperparameters:
        rows.append(f"| hyperparameter `{name}` | {_text(old or '-')} | {_text(new or '-')} |")
    return rows + _run_rows(change)


def _run_cell(side: TrainedBy | str | None) -> str:
    """The run behind one side's weights: its name (linked to its page when the store is a
    web server), id and experiment; or why there is none."""
    if side is None:
        return "-"
    if isinstance(side, str):
        return _text(side)
    name = f"`{_text(side.run_name)}`"
    shown = f"[{name}]({side.url})" if side.url else name
    extra = [] if side.status == "FINISHED" else [side.status.lower()]
    extra += [f"{side.others} more run(s) with these weights"] if side.others else []
    where = f"{shown}: run `{side.run_id}` in experiment `{_text(side.experiment)}`"
    return where + (f" ({', '.join(extra)})" if extra else "")


def _params(side: TrainedBy | str | None, other: TrainedBy | str | None) -> str:
    if not isinstance(side, TrainedBy) or not side.params:
        return "-"
    theirs = other.params if isinstance(other, TrainedBy) else {}
    shown = []
    for name, value in sorted(side.params.items()):
        pair = f"{name}={_text(value)}"
        shown.append(f"**{pair}**" if theirs and theirs.get(name) != value else pair)
    return " ".join(shown)


def _run_rows(change: ModelChange) -> list[str]:
    """The MLflow run rows ([] when runs were not looked up)."""
    base, head = change.base_run, change.head_run
    if base is None and head is None:
        return []
    rows = [f"| training run (MLflow) | {_run_cell(base)} | {_run_cell(head)} |"]
    if not (isinstance(base, TrainedBy) or isinstance(head, TrainedBy)):
        return rows
    metric = change.metric or RUN_METRIC

    def value(side: TrainedBy | str | None) -> str:
        return _metric(side.metrics.get(metric)) if isinstance(side, TrainedBy) else "-"

    rows.append(f"| run's held-out `{metric}` | {value(base)} | {value(head)} |")
    rows.append(f"| run parameters | {_params(base, head)} | {_params(head, base)} |")
    return rows


def _changed_table(rows: tuple[Changed, ...], total: int) -> list[str]:
    lines = [
        f"Changed answers ({len(rows)} of {total}; answers the head now gets wrong first):",
        "",
        "| line | where | base | head | expected |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.line} | `{_text(row.where)}` | {_text(row.base)} | {_text(row.head)} | "
            f"{_text(row.expected or '-')} |"
        )
    return lines


def _delta_table(deltas: tuple[Delta, ...]) -> list[str]:
    lines = [
        "Largest numeric changes:",
        "",
        "| line | where | base | head | change |",
        "|---|---|---|---|---|",
    ]
    for delta in deltas:
        lines.append(
            f"| {delta.line} | `{_text(delta.where)}` | {delta.base:.6g} | {delta.head:.6g} | "
            f"{delta.head - delta.base:+.3g} |"
        )
    return lines


def _collapsed(comparison: Comparison) -> list[str]:
    if not comparison.rows and not comparison.deltas:
        return []
    body: list[str] = []
    if comparison.rows:
        body += [*_changed_table(comparison.rows, comparison.changed), ""]
    if comparison.deltas:
        body += [*_delta_table(comparison.deltas), ""]
    summary = f"{comparison.changed} changed answer(s), the largest numeric changes"
    return [f"<details><summary>{summary}</summary>", "", *body, "</details>", ""]


def model_block(change: ModelChange, *, compact: bool = False) -> list[str]:
    """One model's part of the section."""
    kind = "new model" if change.base is None else "new model version"
    if not change.bundle_changed:
        kind = "training hyperparameters"
    lines = [f"#### `{change.model}`: {kind}", "", *_rows(change), ""]
    notes = list(change.comparison.notes) if change.comparison else []
    notes += [change.note] if change.note else []
    if notes:
        lines += [*(f"- {_text(note)}" for note in notes), ""]
    if change.comparison is not None and not compact:
        lines += _collapsed(change.comparison)
    return lines


def model_section(report: ModelReport | None, *, compact: bool = False) -> list[str]:
    """The "Model changes" section ([] when no model changed)."""
    if report is None or not report.models:
        return []
    lines = [HEADING, ""]
    if report.runs_note:
        lines += [_text(report.runs_note), ""]
    for change in report.models:
        lines += model_block(change, compact=compact)
    return lines


def regression_callout(report: ModelReport | None) -> str | None:
    """A CAUTION block naming each model that misses its bar or regressed, or None."""
    if report is None or not report.regressions:
        return None
    lines = ["> [!CAUTION]", "> **Model quality below the bar or regressed:**"]
    lines += [f"> - {_text(item)}" for item in report.regressions]
    lines.append(f"> The PR check fails until the PR carries the `{REGRESSION_LABEL}` label.")
    return "\n".join(lines)
