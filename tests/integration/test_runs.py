"""Tracked runs as processes: the MLflow UI that `make runs` opens (starts, answers on loopback
only, lists the runs, stops with its workers) and a torchrun job recorded once, from rank 0,
with every rank's weights digest."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_emulator import _listening_addresses
from tests.model_support import ROOT, rank_digests, run_training


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _store_with_runs(uri: str, learning_rates: tuple[str, ...]) -> list[str]:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("digits")
    ids = []
    for lr in learning_rates:
        run = client.create_run(experiment)
        client.log_param(run.info.run_id, "lr", lr)
        client.log_metric(run.info.run_id, "test_accuracy", 0.98)
        client.set_terminated(run.info.run_id, "FINISHED")
        ids.append(str(run.info.run_id))
    return ids


def _post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(  # noqa: S310 (loopback URL built here)
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


def _wait_for_url(process: subprocess.Popen[str], deadline: float) -> str:
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("MLflow UI: "):
            return line.split()[2]
        if not line and process.poll() is not None:
            break
    pytest.fail(f"no URL printed; exit {process.poll()}")


def _servers_on(port: int) -> list[int]:
    """Processes whose command line serves MLflow on `port` (the server and its workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(b"mlflow" in a or b"uvicorn" in a or b"gunicorn" in a for a in args) and any(
            str(port).encode() in a for a in args
        ):
            found.append(int(entry.name))
    return found


def _sessions_processes(pids: list[int]) -> dict[int, tuple[str, str]]:
    """Every process in the sessions of `pids`: its command line and its environment."""
    sessions = {os.getsid(pid) for pid in pids}
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getsid(int(entry.name)) not in sessions:
                continue
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            environment = (entry / "environ").read_bytes().replace(b"\0", b"\n").decode()
        except OSError:
            continue
        found[int(entry.name)] = (command, environment)
    return found


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_the_ui_starts_answers_on_loopback_lists_the_runs_and_stops(
    tmp_path: Path, stop: signal.Signals
) -> None:
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    (tmp_path / "store").mkdir()
    ids = _store_with_runs(uri, ("0.01", "0.005"))
    port = _free_port()
    command = [sys.executable, "-m", "ops", "runs", "ui", "--tracking-uri", uri]
    command += ["--port", str(port), "--log", str(tmp_path / "ui.log")]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        url = _wait_for_url(process, time.monotonic() + 240)
        assert url == f"http://127.0.0.1:{port}/"
        assert _listening_addresses(port) == {"127.0.0.1"}
        assert _servers_on(port), "the server's processes are found by their port"
        # Only the server and its web worker: MLflow's job execution (a job runner and its
        # queue consumers, a queue folder in /dev/shm left behind) is not started for a UI.
        processes = _sessions_processes(_servers_on(port))
        commands = [command for command, _ in processes.values()]
        assert [c for c in commands if "huey" in c or "_job_runner" in c] == [], commands
        assert all("_MLFLOW_HUEY_STORAGE_PATH=" not in env for _, env in processes.values())
        with urllib.request.urlopen(url, timeout=30) as page:  # noqa: S310
            assert "MLflow" in page.read().decode()
        experiments = _post(f"{url}ajax-api/2.0/mlflow/experiments/search", {"max_results": 10})
        (digits,) = [e for e in experiments["experiments"] if e["name"] == "digits"]
        found = _post(
            f"{url}ajax-api/2.0/mlflow/runs/search", {"experiment_ids": [digits["experiment_id"]]}
        )
        listed = {run["info"]["run_id"]: run["data"]["params"] for run in found["runs"]}
        assert set(listed) == set(ids)
        assert sorted(p[0]["value"] for p in listed.values()) == ["0.005", "0.01"]

        process.send_signal(stop)
        assert process.wait(timeout=60) == 0
    except BaseException:
        # A failed test must not leave the server running: it has a session of its own, which
        # killing the command's does not reach.
        for pid in _servers_on(port):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)
        raise
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    deadline = time.monotonic() + 30
    while _servers_on(port) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _servers_on(port) == [], "a server process outlived the command"
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_a_torchrun_job_is_recorded_once_with_every_ranks_digest(tmp_path: Path) -> None:
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    result = run_training(
        "iris", tmp_path / "job", "--epochs", "2", nproc=2, env={"MLFLOW_TRACKING_URI": uri}
    )
    assert result.stdout.count("tracking: run ") == 1
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("iris")
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id])
    digests = rank_digests(result.stdout)
    tags = run.data.tags
    assert (tags["world_size"], tags["weights.ranks_agree"]) == ("2", "true")
    assert [tags["weights.rank0.sha256"], tags["weights.rank1.sha256"]] == [digests[0], digests[1]]
