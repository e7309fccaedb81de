"""A model's recent MLflow runs as one terminal table: parameters beside the held-out metric.

One row per run, newest first: the run, when it started, the commit it ran (`*` when the
checkout had changes), its branch, every hyperparameter and the quality metric. The run whose
weights are the model folder's weights file now (by sha256, the `weights.file_sha256` tag)
is marked: that is the run behind a bundle built from this checkout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ops.tables import aligned

COMMIT_TAG = "mlflow.source.git.commit"
BRANCH_TAG = "mlflow.source.git.branch"
DIRTY_TAG = "git.dirty"
WEIGHTS_TAG = "weights.file_sha256"


@dataclass(frozen=True)
class RunRow:
    """What the table shows of one run (MLflow's `Run`, read once)."""

    run_id: str
    started_ms: int
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]

    @classmethod
    def of(cls, run: Any) -> RunRow:
        return cls(
            run_id=str(run.info.run_id),
            started_ms=int(run.info.start_time or 0),
            params=dict(run.data.params),
            metrics=dict(run.data.metrics),
            tags=dict(run.data.tags),
        )


def recent_runs(client: Any, experiment: str, *, limit: int) -> list[RunRow] | None:
    """The experiment's newest `limit` runs; None when there is no such experiment."""
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return None
    runs = client.search_runs(
        [found.experiment_id], order_by=["attributes.start_time DESC"], max_results=limit
    )
    return [RunRow.of(run) for run in runs]


def _commit(row: RunRow) -> str:
    commit = row.tags.get(COMMIT_TAG, "")[:8] or "-"
    return commit + ("*" if row.tags.get(DIRTY_TAG) == "true" else "")


def _started(row: RunRow) -> str:
    return datetime.fromtimestamp(row.started_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:.6f}"


def runs_table(
    rows: Sequence[RunRow], *, metric: str, weights_sha256: str | None, weights_label: str
) -> str:
    """The table of `rows`; `metric` is the held-out metric shown last, and the run whose
    weights file has `weights_sha256` is marked with `weights_label`."""
    names = sorted({name for row in rows for name in row.params})
    header = ["run", "started (UTC)", "commit", "branch", *names, metric, "weights"]
    table = [header]
    for row in rows:
        marked = weights_sha256 is not None and row.tags.get(WEIGHTS_TAG) == weights_sha256
        table.append(
            [
                row.run_id[:8],
                _started(row),
                _commit(row),
                row.tags.get(BRANCH_TAG, "-"),
                *(row.params.get(name, "-") for name in names),
                _value(row.metrics.get(metric)),
                weights_label if marked else "",
            ]
        )
    return aligned(table)
