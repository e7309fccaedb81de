"""The MLflow run behind a registered model version, in words (`python -m ops promote`).

A pipeline that tracks runs records them on the package it registers
(`CustomerMetadataProperties`, written by `stacks.pipeline_tracking`): the tracking server's
ARN, the experiment, the run's name (the execution id) and its id. The run itself is read from
the server (the `sagemaker-mlflow` plugin reads `arn:` tracking URIs with the caller's AWS
credentials) or from another store given instead; a run that cannot be read is reported, never
an error: promotion does not depend on it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

# The package's metadata keys (stacks.pipeline_tracking.RUN_METADATA; a test checks they agree).
SERVER = "mlflow-tracking-server"
EXPERIMENT = "mlflow-experiment"
RUN_NAME = "mlflow-run-name"
RUN_ID = "mlflow-run-id"
RUN_METADATA = (SERVER, EXPERIMENT, RUN_NAME, RUN_ID)
# Tags shown beside the run's params and metrics (models/modelkit/run_record.py writes them).
SHOWN_TAGS = ("mlflow.source.git.commit", "code.archive_sha256", "data.train.sha256")
# A server that does not answer costs seconds, not MLflow's default minutes of retries.
_HTTP = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}


def run_behind(metadata: Mapping[str, str], *, tracking_uri: str | None, region: str) -> list[str]:
    """Lines naming the run recorded on a package, how to open it, and what it holds.

    Args:
        metadata: the package's CustomerMetadataProperties.
        tracking_uri: where to read the run; None: the tracking server the package names.
        region: the package's region, for the command that opens the server's UI.
    """
    run_id = metadata.get(RUN_ID)
    if not run_id:
        return ["no MLflow run recorded on this version (tracking.mlflow was off where it trained)"]
    server = metadata.get(SERVER, "")
    lines = [
        f"MLflow run {run_id} (experiment {metadata.get(EXPERIMENT, '-')}, "
        f"run name {metadata.get(RUN_NAME, '-')})",
        f"  tracking server: {server or '-'}",
    ]
    if server:
        lines.append(
            "  open its UI: aws sagemaker create-presigned-mlflow-tracking-server-url "
            f"--tracking-server-name {server.rsplit('/', 1)[-1]} --region {region}"
        )
    uri = tracking_uri or server
    try:
        lines.extend(_run_lines(uri, run_id))
    except Exception as error:  # reported: the version is promoted all the same
        reason = str(error).splitlines()[0] if str(error) else ""
        lines.append(f"  (the run was not read from {uri}: {type(error).__name__}: {reason})")
    return lines


def _run_lines(uri: str, run_id: str) -> list[str]:
    from mlflow import MlflowClient

    with http_defaults():
        run: Any = MlflowClient(tracking_uri=uri).get_run(run_id)
    params = " ".join(f"{k}={v}" for k, v in sorted(run.data.params.items()))
    metrics = " ".join(f"{k}={v:.6g}" for k, v in sorted(run.data.metrics.items()))
    tags = run.data.tags
    shown = " ".join(f"{k}={tags[k]}" for k in SHOWN_TAGS if k in tags)
    return [
        f"  status: {run.info.status}",
        f"  params: {params or '-'}",
        f"  metrics: {metrics or '-'}",
        *([f"  {shown}"] if shown else []),
    ]


@contextlib.contextmanager
def http_defaults(settings: Mapping[str, str] = _HTTP) -> Iterator[None]:
    """MLflow's HTTP retry and timeout settings for the block, where the caller set none."""
    added = {k: v for k, v in settings.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)
