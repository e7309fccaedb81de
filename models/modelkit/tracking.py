"""Record each training run in MLflow, from the shared job flow (`modelkit.job`), so every
model's train.py gets it without code of its own.

Tracking is switched on from outside, the way MLflow itself is configured: with
`MLFLOW_TRACKING_URI` set (`make train` sets a local store under `.cache/mlflow`, a SageMaker
pipeline sets its tracking server's ARN) a run is recorded; without it, or with
`MODELKIT_TRACKING=off`, nothing is. Recording happens after training, from what the job has
already computed, so it cannot change the weights; a store that is missing, unreachable or
refusing costs a warning on stderr, never the training.

What a run holds: the hyperparameters (params); the metric lines the job prints while
training (per epoch) and its final train and held-out metrics; tags for the git commit, branch
and dirty flag, the sha256 of each data channel, of the code and of the training code archive,
the seed, every rank's weights digest and the key package versions; the weights, metrics.json,
the data listing and the full package list as artifacts.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from modelkit.run_record import JOB_NAME, Point, RunRecord, parse_metric_line

TRACKING_URI = "MLFLOW_TRACKING_URI"
EXPERIMENT = "MLFLOW_EXPERIMENT_NAME"
RUN_ID = "MLFLOW_RUN_ID"  # a run made for this job already (MLflow's own convention)
SWITCH = "MODELKIT_TRACKING"  # "off": no run, whatever the URI
RUN_NAME = "MODELKIT_RUN_NAME"  # the pipeline execution's id: the run to join or create

# What this module needs in a SageMaker training image that lacks it (tracking to a SageMaker
# tracking server only): the client and the plugin that reads `arn:` tracking URIs. Pinned as
# in constraints.txt (a test checks).
REQUIREMENTS = ("mlflow-skinny==3.17.2", "sagemaker-mlflow==0.5.0")

# A tracking server that does not answer costs seconds, not MLflow's default minutes of retries.
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}

_BATCH = {"metrics": 1000, "params": 100, "tags": 100}  # MLflow's log_batch limits


class _MetricTee:
    """A text stream that writes through to `stream` and keeps the metric lines it sees."""

    def __init__(self, stream: TextIO, points: list[Point]) -> None:
        self._stream = stream
        self._points = points
        self._pending = ""

    def write(self, text: str) -> int:
        written = self._stream.write(text)
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        now = int(time.time() * 1000)
        for line in lines:
            self._points.extend(parse_metric_line(line, timestamp_ms=now))
        return written

    def __getattr__(self, name: str) -> Any:  # flush, isatty, encoding ...: the stream's own
        return getattr(self._stream, name)


@dataclass
class Tracker:
    """Records one run in MLflow at `uri`, or does nothing when `uri` is None.

    Args:
        uri: the tracking URI (`sqlite:///...`, `http(s)://...`, a SageMaker tracking server
            ARN); None: tracking is off.
        experiment: the MLflow experiment (`MLFLOW_EXPERIMENT_NAME`, else the model's name).
        run_name: the run to join or create by name (a pipeline execution's id).
        run_id: a run made for this job already, to log into.
    """

    uri: str | None
    experiment: str
    run_name: str | None = None
    run_id: str | None = None
    points: list[Point] = field(default_factory=list)
    started_ms: int = field(default_factory=lambda: int(time.time() * 1000))

    @classmethod
    def from_environment(
        cls, *, experiment: str, environ: Mapping[str, str] | None = None
    ) -> Tracker:
        env = os.environ if environ is None else environ
        uri = env.get(TRACKING_URI) or None
        if env.get(SWITCH, "").lower() in {"off", "0", "false"}:
            uri = None
        return cls(
            uri=uri,
            experiment=env.get(EXPERIMENT) or experiment,
            run_name=env.get(RUN_NAME) or None,
            run_id=env.get(RUN_ID) or None,
        )

    @property
    def enabled(self) -> bool:
        return self.uri is not None

    @contextlib.contextmanager
    def capturing(self) -> Iterator[None]:
        """Keep the metric lines printed inside the block (stdout passes through unchanged)."""
        if not self.enabled:
            yield
            return
        self.started_ms = int(time.time() * 1000)  # the run starts with training
        original = sys.stdout
        sys.stdout = _MetricTee(original, self.points)
        try:
            yield
        finally:
            sys.stdout = original

    def record(self, run: RunRecord) -> str | None:
        """Log `run`; its id, or None when tracking is off or the store failed (a warning)."""
        if self.uri is None:
            return None
        try:
            run_id = self._log(self.uri, run)
        except Exception as error:  # any failure: training has succeeded anyway
            sys.stderr.write(
                f"warning: the run was not recorded in MLflow at {self.uri}: "
                f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''} "
                "(training is unaffected; MODELKIT_TRACKING=off stops trying)\n"
            )
            return None
        sys.stdout.write(
            f"tracking: run {run_id} in experiment '{self.experiment}' at {self.uri}\n"
        )
        return run_id

    def _log(self, uri: str, run: RunRecord) -> str:
        for name, value in HTTP_DEFAULTS.items():
            os.environ.setdefault(name, value)
        mlflow = _import_mlflow(uri)
        with _quiet_loggers():
            client = mlflow.MlflowClient(tracking_uri=uri)
            experiment_id = _experiment_id(client, self.experiment, uri)
        run_id, created = self._run(client, experiment_id)
        try:
            _log_values(client, run_id, run)
            with tempfile.TemporaryDirectory() as folder:
                for name, artifact_path, text in run.texts:
                    path = Path(folder) / name
                    path.write_text(text)
                    client.log_artifact(run_id, str(path), artifact_path)
            for path, artifact_path in run.files:
                client.log_artifact(run_id, str(path), artifact_path)
        except Exception:
            if created:
                with contextlib.suppress(Exception):
                    client.set_terminated(run_id, "FAILED")
            raise
        if created:
            client.set_terminated(run_id, "FINISHED")
        return run_id

    def _run(self, client: Any, experiment_id: str) -> tuple[str, bool]:
        """(run id, whether this job created it): the given run, the run named `run_name` in
        the experiment, or a new one."""
        if self.run_id:
            return self.run_id, False
        if self.run_name:
            quoted = self.run_name.replace("'", "")
            found = client.search_runs(
                [experiment_id], filter_string=f"attributes.run_name = '{quoted}'", max_results=1
            )
            if found:
                return str(found[0].info.run_id), False
        created = client.create_run(
            experiment_id,
            start_time=self.started_ms,
            run_name=self.run_name or _local_run_name(self.started_ms),
        )
        return str(created.info.run_id), True


def _local_run_name(started_ms: int) -> str:
    """`run-20261201-155104`: when training started (UTC). MLflow's own generated names come
    from Python's `random`, which the job has seeded, so every run would get the same one."""
    return time.strftime("run-%Y%m%d-%H%M%S", time.gmtime(started_ms / 1000))


def _import_mlflow(uri: str) -> Any:
    """The mlflow module; inside a SageMaker job that logs to a SageMaker tracking server and
    whose image lacks it, `REQUIREMENTS` are installed first (as the training toolkit installs
    a requirements.txt)."""
    try:
        return importlib.import_module("mlflow")
    except ImportError:
        if not (uri.startswith("arn:") and os.environ.get(JOB_NAME)):
            raise
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", *REQUIREMENTS],
        check=True,
        timeout=600,
    )
    importlib.invalidate_caches()
    return importlib.import_module("mlflow")


def artifact_location(uri: str, experiment: str) -> str | None:
    """Where a new experiment keeps its artifacts: beside a local SQLite store's database
    (`<db folder>/artifacts/<experiment>`), so the whole store sits in one folder; a tracking
    server's own default otherwise (None)."""
    if not uri.startswith("sqlite:///"):
        return None
    database = Path(uri.removeprefix("sqlite:///"))
    return (database.parent / "artifacts" / experiment).resolve().as_uri()


def _experiment_id(client: Any, name: str, uri: str) -> str:
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    try:
        return str(client.create_experiment(name, artifact_location=artifact_location(uri, name)))
    except Exception:
        found = client.get_experiment_by_name(name)  # another run created it meanwhile
        if found is None:
            raise
        return str(found.experiment_id)


def _log_values(client: Any, run_id: str, run: RunRecord) -> None:
    """Params, tags and metrics in batches within MLflow's limits. A run made for the job
    already may hold params of its own: those keep their values (MLflow refuses changes)."""
    from mlflow.entities import Metric, Param, RunTag

    existing = client.get_run(run_id).data.params
    params = [Param(k, v) for k, v in sorted(run.params.items()) if k not in existing]
    tags = [RunTag(k, v) for k, v in sorted(run.tags.items())]
    metrics = [Metric(p.name, p.value, p.timestamp_ms, p.step) for p in run.metrics]
    for kind, entities in (("params", params), ("tags", tags), ("metrics", metrics)):
        size = _BATCH[kind]
        for start in range(0, len(entities), size):
            client.log_batch(run_id, **{kind: entities[start : start + size]})


@contextlib.contextmanager
def _quiet_loggers() -> Iterator[None]:
    """MLflow's and alembic's INFO lines (creating a local store's tables) stay out of the
    job's output; warnings still show."""
    loggers = [logging.getLogger(name) for name in ("mlflow", "alembic")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
