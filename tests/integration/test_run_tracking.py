"""Training runs recorded in MLflow by the shared job flow (models/modelkit/tracking.py), in a
temporary local store: what a run holds, that equal seeds give equal digests, that a store
which does not answer costs a warning and never the training or its weights.

The torchrun run (once, from rank 0, with both ranks' digests) is in tests/integration/.
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from stacks.pipeline_tracking import TRACKING_ENVIRONMENT
from tests.model_support import ROOT, load, rank_digests, run_training

MODELKIT = ROOT / "models"
SERVER_ARN = "arn:aws:sagemaker:eu-west-1:111111111111:mlflow-tracking-server/staging-iris"


def store_uri(folder: Path) -> str:
    return f"sqlite:///{folder / 'mlflow.db'}"


def runs_in(uri: str, experiment: str) -> list[Any]:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r} in {uri}"
    return list(client.search_runs([found.experiment_id], order_by=["attributes.start_time"]))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def modelkit(module: str) -> ModuleType:
    return load(MODELKIT, f"modelkit.{module}")


# --- a run's record ---------------------------------------------------------------------------


def test_a_training_run_records_params_metrics_tags_and_files(tmp_path: Path) -> None:
    uri = store_uri(tmp_path / "store")
    archive = "ab" * 32
    result = run_training(
        "iris",
        tmp_path / "job",
        "--epochs",
        "3",
        "--lr",
        "0.02",
        env={"MLFLOW_TRACKING_URI": uri, "MODELKIT_CODE_SHA256": archive},
    )
    (run,) = runs_in(uri, "iris")
    assert run.info.status == "FINISHED"
    assert f"tracking: run {run.info.run_id} in experiment 'iris'" in result.stdout
    params, metrics, tags = run.data.params, run.data.metrics, run.data.tags
    assert params == {
        "epochs": "3",
        "lr": "0.02",
        "weight_decay": "0.1",
        "batch_size": "16",
        "hidden": "8",
        "test_fraction": "0.2",
        "seed": "7",
    }
    written = json.loads((tmp_path / "job" / "output" / "metrics.json").read_text())
    assert metrics["test_accuracy"] == pytest.approx(written["test_accuracy"])
    assert metrics["train_accuracy"] == pytest.approx(written["train_accuracy"])

    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    history = client.get_metric_history(run.info.run_id, "train_loss")
    printed = [line for line in result.stdout.splitlines() if "train_loss=" in line]
    assert [m.step for m in history] == [0, 1, 2] and len(printed) == 3
    assert [f"{m.value:.6f}" for m in history] == [
        line.split("train_loss=")[1].rstrip(";") for line in printed
    ]

    weights = (tmp_path / "job" / "model" / "model.pt").read_bytes()
    data = (ROOT / "models" / "iris" / "data" / "iris.csv").read_bytes()
    assert tags["model"] == "iris" and tags["seed"] == "7"
    assert tags["weights.rank0.sha256"] == rank_digests(result.stdout)[0]
    assert tags["weights.file_sha256"] == sha256(weights)
    assert tags["weights.ranks_agree"] == "true" and tags["world_size"] == "1"
    # sha256sum's listing of the channel folder, hashed.
    assert tags["data.train.sha256"] == sha256(f"{sha256(data)}  iris.csv\n".encode())
    assert tags["code.archive_sha256"] == archive
    assert len(tags["code.sha256"]) == 64
    commit = tags["mlflow.source.git.commit"]
    subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", commit], check=True)
    assert tags["mlflow.source.git.branch"]
    assert tags["git.dirty"] in {"true", "false"}
    assert tags["mlflow.source.type"] == "LOCAL"
    assert tags["version.torch"].startswith("2.") and tags["version.python"].startswith("3.11")

    artifacts = Path(client.download_artifacts(run.info.run_id, "", str(tmp_path / "artifacts")))
    assert (artifacts / "model" / "model.pt").read_bytes() == weights
    assert json.loads((artifacts / "output" / "metrics.json").read_text()) == written
    assert (artifacts / "data" / "train.sha256sum").read_text() == f"{sha256(data)}  iris.csv\n"
    assert "torch==2.13.0" in (artifacts / "environment" / "packages.txt").read_text()


def test_two_runs_with_the_same_seed_have_equal_weight_digests(tmp_path: Path) -> None:
    uri = store_uri(tmp_path / "store")
    for job in ("a", "b"):
        run_training("digits", tmp_path / job, "--epochs", "1", env={"MLFLOW_TRACKING_URI": uri})
    first, second = runs_in(uri, "digits")
    assert first.info.run_id != second.info.run_id
    # Named by when they started: MLflow's generated names would repeat (the job seeds random).
    assert first.info.run_name != second.info.run_name
    assert first.info.run_name.startswith("run-") and second.info.run_name.startswith("run-")
    for tag in ("weights.rank0.sha256", "weights.file_sha256", "data.train.sha256", "code.sha256"):
        assert first.data.tags[tag] == second.data.tags[tag], tag


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_tracking_server_does_not_fail_training(tmp_path: Path) -> None:
    unreachable = f"http://127.0.0.1:{_closed_port()}"
    tracked = run_training(
        "iris", tmp_path / "tracked", "--epochs", "2", env={"MLFLOW_TRACKING_URI": unreachable}
    )
    untracked = run_training(
        "iris", tmp_path / "untracked", "--epochs", "2", env={"MLFLOW_TRACKING_URI": ""}
    )
    assert "warning: the run was not recorded in MLflow at " + unreachable in tracked.stderr
    assert "tracking: run" not in tracked.stdout
    weights = [
        (tmp_path / job / "model" / "model.pt").read_bytes() for job in ("tracked", "untracked")
    ]
    assert weights[0] == weights[1]
    assert rank_digests(tracked.stdout) == rank_digests(untracked.stdout)


def test_tracking_can_be_switched_off_with_a_uri_set(tmp_path: Path) -> None:
    store = tmp_path / "store"
    env = {"MLFLOW_TRACKING_URI": store_uri(store), "MODELKIT_TRACKING": "off"}
    result = run_training("iris", tmp_path / "job", "--epochs", "1", env=env)
    assert not store.exists()
    assert "tracking:" not in result.stdout and "warning" not in result.stderr


# --- the pieces -------------------------------------------------------------------------------


def test_metric_lines_are_read_as_the_job_prints_them() -> None:
    parse = modelkit("run_record").parse_metric_line
    epoch = parse(
        "metric epoch=3; train_loss=0.412000; validation_accuracy=0.951000;", timestamp_ms=5
    )
    assert [(p.name, p.value, p.step) for p in epoch] == [
        ("train_loss", 0.412, 3),
        ("validation_accuracy", 0.951, 3),
    ]
    (final,) = parse("metric test_accuracy=0.933333;", timestamp_ms=5)
    assert (final.name, final.value, final.step) == ("test_accuracy", 0.933333, 0)
    assert parse("rank 0/1: weights sha256 abc", timestamp_ms=5) == []
    assert parse("metrics are fine", timestamp_ms=5) == []


def test_the_tracker_is_configured_from_the_environment_only() -> None:
    tracker = modelkit("tracking").Tracker
    assert not tracker.from_environment(experiment="iris", environ={}).enabled
    assert not tracker.from_environment(
        experiment="iris",
        environ={"MLFLOW_TRACKING_URI": "sqlite:///x.db", "MODELKIT_TRACKING": "off"},
    ).enabled
    on = tracker.from_environment(
        experiment="iris",
        environ={
            "MLFLOW_TRACKING_URI": SERVER_ARN,
            "MLFLOW_EXPERIMENT_NAME": "staging-iris",
            "MODELKIT_RUN_NAME": "execution-1",
        },
    )
    assert on.enabled and on.experiment == "staging-iris" and on.run_name == "execution-1"


def test_a_run_named_by_the_pipeline_is_joined_not_duplicated(tmp_path: Path) -> None:
    """A pipeline execution names its run (SageMaker's job MlflowConfig may have made it):
    recording twice under that name gives one run holding both records."""
    tracking, record = modelkit("tracking"), modelkit("run_record")
    uri = store_uri(tmp_path / "store")
    first = record.RunRecord(params={"lr": "0.01"}, metrics=[], tags={"step": "one"})
    second = record.RunRecord(params={"lr": "0.02"}, metrics=[], tags={"other": "two"})
    for run in (first, second):
        tracker = tracking.Tracker(uri=uri, experiment="staging-iris", run_name="execution-1")
        assert tracker.record(run) is not None
    (joined,) = runs_in(uri, "staging-iris")
    assert joined.info.run_name == "execution-1"
    assert joined.data.params == {"lr": "0.01"}  # a run's params keep their first value
    assert {"step", "other"} <= set(joined.data.tags)


def test_what_the_pipeline_sets_is_what_the_job_reads() -> None:
    tracking, record = modelkit("tracking"), modelkit("run_record")
    read = (tracking.TRACKING_URI, tracking.EXPERIMENT, tracking.RUN_NAME, record.CODE_ARCHIVE)
    assert read == TRACKING_ENVIRONMENT


def test_packages_installed_in_a_job_are_pinned_as_here() -> None:
    pins = set((ROOT / "constraints.txt").read_text().lower().split())
    assert {pin.lower() for pin in modelkit("tracking").REQUIREMENTS} <= pins


def test_a_folder_digest_is_the_digest_of_its_sha256sum_listing(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a.csv").write_bytes(b"1,2\n")
    (tmp_path / "b" / "c.csv").write_bytes(b"3,4\n")
    (tmp_path / "b" / "__pycache__").mkdir()
    (tmp_path / "b" / "__pycache__" / "x.pyc").write_bytes(b"skipped")
    first, second = sha256(b"1,2\n"), sha256(b"3,4\n")
    listing = f"{first}  a.csv\n{second}  b/c.csv\n"
    provenance = modelkit("provenance")
    assert provenance.tree_listing(tmp_path) == listing
    assert provenance.tree_sha256(tmp_path) == sha256(listing.encode())
    assert provenance.tree_sha256(tmp_path / "a.csv") == first
