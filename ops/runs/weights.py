"""The MLflow run behind a weights file: found by the file's sha256 in a tracking store.

Every training run records the sha256 of the weights file it exported as the tag
`weights.file_sha256` (`models/modelkit/run_record.py`), so a bundle's weights lead back to
the run that made them without any id travelling with the bundle. Runs trained with the same
seed, code and data make byte-identical weights, so several runs may match: the newest run
of the model itself is named, and the others are counted.

A run's page in the MLflow UI is `<server>/#/experiments/<experiment id>/runs/<run id>`, the
link MLflow's own client prints when a run ends (`mlflow/tracking/_tracking_service/client.py`);
only an http(s) tracking URI has such a page.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ops.runs.table import WEIGHTS_TAG

MODEL_TAG = "model"  # the model whose job recorded the run (run_record.describe_job)
_PAGE = 1000


@dataclass(frozen=True)
class TrainedBy:
    """The run that trained a weights file, as the PR diff shows it.

    Attributes:
        url: the run's page in the MLflow UI; None when the store is not a web server.
        others: how many other runs recorded the same weights digest.
    """

    run_id: str
    run_name: str
    experiment_id: str
    experiment: str
    status: str
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    url: str | None = None
    others: int = 0


def shown_uri(tracking_uri: str) -> str:
    """The tracking URI without the user and password it may carry (it is shown in a PR)."""
    parts = urlsplit(tracking_uri)
    if "@" not in parts.netloc:
        return tracking_uri
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def run_url(tracking_uri: str, *, experiment_id: str, run_id: str) -> str | None:
    """The run's page in the MLflow UI, for a tracking URI that is a web server."""
    if not tracking_uri.startswith(("http://", "https://")):
        return None
    return f"{shown_uri(tracking_uri).rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def _experiments(client: Any) -> dict[str, str]:
    """Every active experiment's name by id."""
    names: dict[str, str] = {}
    token = None
    while True:
        page = client.search_experiments(max_results=_PAGE, page_token=token)
        names.update({str(e.experiment_id): str(e.name) for e in page})
        token = getattr(page, "token", None)
        if not token:
            return names


def _matching(client: Any, experiments: Sequence[str], digest: str) -> list[Any]:
    # Digests are hex, so quoting them needs no escaping; the tag key holds dots: backticks.
    if not all(c in "0123456789abcdef" for c in digest):
        return []
    return list(
        client.search_runs(
            list(experiments),
            filter_string=f"tags.`{WEIGHTS_TAG}` = '{digest}'",
            order_by=["attributes.start_time DESC"],
            max_results=_PAGE,
        )
    )


def trained_by(
    client: Any, *, tracking_uri: str, digests: Sequence[str], model: str
) -> TrainedBy | None:
    """The newest run whose weights file has one of `digests`, preferring runs of `model`.

    Args:
        client: an `MlflowClient` on `tracking_uri`.
        digests: sha256 of each weights file of a bundle (a bundle may carry several).

    Raises:
        Exception: whatever the store raises when it cannot be read (the caller reports it).
    """
    with quiet_loggers():
        experiments = _experiments(client)
        if not experiments:
            return None
        runs = [run for digest in digests for run in _matching(client, list(experiments), digest)]
    if not runs:
        return None
    runs.sort(
        key=lambda run: (run.data.tags.get(MODEL_TAG) == model, run.info.start_time or 0),
        reverse=True,
    )
    newest = runs[0]
    experiment_id = str(newest.info.experiment_id)
    run_id = str(newest.info.run_id)
    return TrainedBy(
        run_id=run_id,
        run_name=str(newest.info.run_name or run_id),
        experiment_id=experiment_id,
        experiment=experiments.get(experiment_id, experiment_id),
        status=str(newest.info.status),
        params=dict(newest.data.params),
        metrics=dict(newest.data.metrics),
        url=run_url(tracking_uri, experiment_id=experiment_id, run_id=run_id),
        others=len({str(run.info.run_id) for run in runs}) - 1,
    )


@contextlib.contextmanager
def quiet_loggers() -> Iterator[None]:
    """MLflow's and alembic's INFO lines (a local store's schema check) stay out of the
    command's output; warnings still show."""
    loggers = [logging.getLogger(name) for name in ("mlflow", "alembic")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
