"""The MLflow runs behind each changed model's base and head weights, for the model section.

A bundle carries its weights at the top of the archive (code sits under `code/`); each weights
file's sha256 is what the training run recorded as `weights.file_sha256`, so the run behind a
side is found by digest (`ops.runs.weights`), with no id written anywhere at synth.

Where runs are read: the tracking URI given (`--tracking-uri`; `make diff` passes the
`TRACKING_URI` that `make train` records into), else the local store `make train` writes in the
project (`.cache/mlflow/mlflow.db`) when there is one. Nothing is read over the network unless
a URI says so. No store, or a store that does not answer, is a note in the comment: the diff
never fails for it.
"""

from __future__ import annotations

import hashlib
import tarfile
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

from bundler.cache import file_sha256
from ops.diff.models import Bundle, ModelChange, ModelReport
from ops.runs.lookup import http_defaults
from ops.runs.weights import TrainedBy, shown_uri, trained_by

LOCAL_STORE = Path(".cache") / "mlflow" / "mlflow.db"  # the Makefile's TRACKING_URI default
CODE_FOLDER = "code"
NO_RUN = "no tracked run"
# A PR check waits seconds for a tracking server that does not answer, not minutes.
HTTP_SETTINGS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}


def _top_level(name: str) -> bool:
    parts = [part for part in PurePosixPath(name).parts if part != "."]
    return len(parts) == 1 and parts[0] != CODE_FOLDER


def weights_digests(archive: Path) -> tuple[str, ...]:
    """sha256 of each file at the top of a bundle (a model.tar.gz or its unpacked folder)."""
    if archive.is_dir():
        return tuple(file_sha256(path) for path in sorted(archive.iterdir()) if path.is_file())
    digests = []
    with tarfile.open(archive, "r|gz") as tar:  # streamed: weights may be large
        for member in tar:
            if not (member.isfile() and _top_level(member.name)):
                continue
            data = tar.extractfile(member)
            if data is not None:
                digests.append(_sha256(data))
    return tuple(digests)


def _sha256(stream: Any) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: stream.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def store_uri(*, tracking_uri: str | None, project: Path) -> tuple[str | None, str]:
    """(the tracking URI to read, or None; why there is none)."""
    if tracking_uri:
        database = tracking_uri.removeprefix("sqlite:///")
        if database != tracking_uri and not Path(database).is_file():
            return None, f"no MLflow store at {database}"  # reading would create an empty one
        return tracking_uri, ""
    local = project / LOCAL_STORE
    if local.is_file():
        return f"sqlite:///{local.resolve()}", ""
    return None, (
        f"no MLflow store here (`make train` records runs in {LOCAL_STORE}; "
        "`--tracking-uri` names a tracking server)"
    )


def _side(client: Any, uri: str, bundle: Bundle, model: str) -> TrainedBy | str:
    if bundle.archive is None:
        return "weights not in the assembly (bundle not built at synth)"
    try:
        digests = weights_digests(bundle.archive)
    except (OSError, tarfile.TarError) as error:
        return f"weights not read: {error}"
    found = trained_by(client, tracking_uri=uri, digests=digests, model=model)
    return found or NO_RUN


def _linked(client: Any, uri: str, change: ModelChange) -> ModelChange:
    base = _side(client, uri, change.base, change.model) if change.base else None
    return replace(change, base_run=base, head_run=_side(client, uri, change.head, change.model))


def link_runs(report: ModelReport, *, tracking_uri: str | None, project: Path) -> ModelReport:
    """`report` with the run behind each side's weights, and a note on where they were read."""
    if not report.models:
        return report
    uri, missing = store_uri(tracking_uri=tracking_uri, project=project)
    if uri is None:
        return replace(report, runs_note=f"Training runs not linked: {missing}.")
    try:
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=uri)
        with http_defaults(HTTP_SETTINGS):
            models = tuple(_linked(client, uri, change) for change in report.models)
    except Exception as error:  # a note in the comment, never a failed diff
        reason = str(error).splitlines()[0] if str(error) else ""
        return replace(
            report,
            runs_note=f"Training runs not linked: the MLflow store at {shown_uri(uri)} could "
            f"not be read ({type(error).__name__}: {reason.replace(uri, shown_uri(uri))}).",
        )
    found = f"Training runs found by weights sha256 in {shown_uri(uri)}."
    return replace(report, models=models, runs_note=found)
