"""`python -m ops promote` shows the MLflow run behind the version it pins (moto's registry,
a temporary local store standing in for the tracking server)."""

from __future__ import annotations

import argparse
import socket
from pathlib import Path
from typing import Any

import pytest

from ops.promote import run
from ops.runs.lookup import RUN_METADATA
from stacks.pipeline_tracking import RUN_METADATA as WRITTEN_BY_THE_PIPELINE
from tests.unit.conftest import GROUP, REGION, mlflow_store_at

SERVER = f"arn:aws:sagemaker:{REGION}:111111111111:mlflow-tracking-server/staging-iris"


def register(client: Any, metadata: dict[str, str]) -> str:
    arn: str = client.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": "image:1", "ModelDataUrl": "s3://artifacts/model.tar.gz"}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        CustomerMetadataProperties={"model": "iris", **metadata},
    )["ModelPackageArn"]
    return arn


def recorded_run(uri: str) -> str:
    """A run as a pipeline execution's training job leaves it."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("staging-iris")
    created = client.create_run(experiment, run_name="execution-7")
    run_id = str(created.info.run_id)
    client.log_param(run_id, "lr", "0.01")
    client.log_metric(run_id, "test_accuracy", 0.933333)
    client.set_tag(run_id, "mlflow.source.git.commit", "0123abcd" * 5)
    client.set_terminated(run_id, "FINISHED")
    return run_id


def metadata_of(run_id: str) -> dict[str, str]:
    values = (SERVER, "staging-iris", "execution-7", run_id)
    return dict(zip(RUN_METADATA, values, strict=True))


def _args(root: Path, tracking_uri: str | None) -> argparse.Namespace:
    return argparse.Namespace(
        root=root,
        model="iris",
        environment="staging",
        version=None,
        write=False,
        tracking_uri=tracking_uri,
    )


def test_the_keys_read_are_the_keys_the_pipeline_writes() -> None:
    assert RUN_METADATA == WRITTEN_BY_THE_PIPELINE


def test_promote_shows_the_run_behind_the_pinned_version(
    sagemaker: Any,
    project_copy: Path,
    tmp_path: Path,
    empty_mlflow_store: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    uri = mlflow_store_at(tmp_path / "mlflow.db", empty_mlflow_store)
    run_id = recorded_run(uri)
    register(sagemaker, {})
    register(sagemaker, metadata_of(run_id))

    assert run(_args(project_copy, uri), sagemaker=sagemaker) == 0

    out = capsys.readouterr().out
    behind = out[out.index("run behind version 2:") :]
    assert f"MLflow run {run_id} (experiment staging-iris, run name execution-7)" in behind
    assert f"tracking server: {SERVER}" in behind
    assert "--tracking-server-name staging-iris --region eu-west-1" in behind
    assert "params: lr=0.01" in behind
    assert "metrics: test_accuracy=0.933333" in behind
    assert "mlflow.source.git.commit=0123abcd" in behind


def test_a_version_without_a_run_says_so(
    sagemaker: Any, project_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    register(sagemaker, {})
    assert run(_args(project_copy, None), sagemaker=sagemaker) == 0
    assert "no MLflow run recorded on this version" in capsys.readouterr().out


def test_a_run_that_cannot_be_read_does_not_stop_the_promotion(
    sagemaker: Any,
    project_copy: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # MLflow still retries (ops.runs.lookup's count) but does not sleep between the tries: its
    # default backoff waits ~5 s of the test's wall time for a port nothing listens on.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        unreachable = f"http://127.0.0.1:{probe.getsockname()[1]}"
    register(sagemaker, metadata_of("0" * 32))
    assert run(_args(project_copy, unreachable), sagemaker=sagemaker) == 0
    out = capsys.readouterr().out
    assert f"(the run was not read from {unreachable}:" in out
    assert "model_package_arn: arn:aws:sagemaker:" in out
