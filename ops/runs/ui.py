"""The MLflow UI over a tracking store, on 127.0.0.1 only: start it, wait until it answers,
stop it with every process it started.

`mlflow server` (from this environment's MLflow) reads the store directly; for a local SQLite
store the artifacts sit beside the database in `artifacts/`, where `modelkit.tracking` puts
them, and the server reads them from there rather than proxying uploads.

MLflow's job execution is off (`MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false`): on by default, it
starts a job runner and seven Huey consumers beside the server (about 1.2 GB and 26 CPU-seconds
at start here) for MLflow's server-side jobs, which browsing runs never queues, and makes a queue
folder in /dev/shm that MLflow does not remove when the server stops.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

HOST = "127.0.0.1"
READY_SECONDS = 180  # the first start creates a store's tables; a busy machine takes a while


class UiError(RuntimeError):
    """The UI did not start or stopped answering; the message holds the end of its log."""


def local_database(tracking_uri: str) -> Path | None:
    """The database file of a local SQLite store; None for any other store."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    return Path(tracking_uri.removeprefix("sqlite:///"))


def server_command(*, tracking_uri: str, port: int) -> list[str]:
    """`mlflow server` on loopback with one worker, over `tracking_uri`."""
    command = [
        str(Path(sys.executable).with_name("mlflow")),
        "server",
        "--backend-store-uri",
        tracking_uri,
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    database = local_database(tracking_uri)
    if database is not None:
        artifacts = (database.parent / "artifacts").resolve().as_uri()
        command += ["--no-serve-artifacts", "--default-artifact-root", artifacts]
    return command


@dataclass
class UiServer:
    """A running UI: its process group and the URL it answers on."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}health", timeout=5) as response:  # noqa: S310
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def wait_ready(self, timeout: float = READY_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise UiError(
                    f"mlflow server exited with {self.process.returncode}: {self._tail()}"
                )
            if self.answers():
                return
            time.sleep(0.5)
        raise UiError(f"mlflow server did not answer {self.url} in {timeout:.0f} s: {self._tail()}")

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM to the server's process group (its workers too), SIGKILL if it lingers."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=timeout)
        # Workers outlive a killed parent unless the group goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def _tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"


def start(*, tracking_uri: str, port: int, log: Path) -> UiServer:
    """Start the UI and wait until it answers; a UI that does not start is stopped again."""
    database = local_database(tracking_uri)
    if database is not None:
        database.parent.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        process = _spawn(server_command(tracking_uri=tracking_uri, port=port), output)
    server = UiServer(process, f"http://{HOST}:{port}/", log)
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    return server


# What the server needs to know that it is only a UI (see the module's docstring).
SERVER_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def _spawn(command: list[str], output: IO[bytes]) -> subprocess.Popen[bytes]:
    """The server in a session of its own, so stopping it stops every worker it forks."""
    return subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, **SERVER_ENV},
    )
