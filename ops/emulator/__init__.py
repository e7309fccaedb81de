"""An embedded AWS on 127.0.0.1: moto's server with the project's extensions, in its own process.

`start()` launches `python -m ops.emulator.server` in a new session, waits until it accepts
connections and returns an `Emulator` (pid, port, URL). `stop()` ends that process group and
every model server it started (they run in groups of their own, noted in `<state>.servers`).
The state file lets `python -m ops emulator stop` find an emulator that `make deploy-local
KEEP=1` left running.

The URL uses `localhost`, not the IP: moto reads a bucket name from an IP host ("127").
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STATE = ROOT / ".cache" / "emulator" / "state.json"
START_TIMEOUT_S = 60.0

# The account and region the CDK app targets when deploying here (see app.py's override).
LOCAL_ACCOUNT = "123456789012"
LOCAL_REGION = "eu-west-1"


@dataclass(frozen=True)
class Emulator:
    pid: int
    port: int
    url: str
    state_file: Path
    log_file: Path

    def environment(self) -> dict[str, str]:
        """Variables that point the AWS SDKs and the CDK CLI at this emulator."""
        return client_environment(self.url)


def client_environment(url: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # moto accepts any credentials
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": LOCAL_REGION,
        "AWS_DEFAULT_REGION": LOCAL_REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def clients(url: str, *, config: Config | None = None) -> Any:
    """`clients(url)("s3")`: boto3 clients for this emulator, from `client_environment`'s
    credentials and region, whatever the shell running the command has set."""
    variables = client_environment(url)
    session = boto3.Session(
        aws_access_key_id=variables["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=variables["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=variables["AWS_SESSION_TOKEN"],
        region_name=variables["AWS_REGION"],
    )
    return lambda service: session.client(service, endpoint_url=url, config=config)


class EmulatorError(RuntimeError):
    pass


def start(state_file: Path = DEFAULT_STATE, *, env: Mapping[str, str] | None = None) -> Emulator:
    """Start an emulator and wait until it answers; fails if one is already recorded there."""
    existing = status(state_file)
    if existing is not None:
        raise EmulatorError(
            f"an emulator is already running at {existing.url} (pid {existing.pid}); "
            "stop it with `python -m ops emulator stop`"
        )
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.unlink(missing_ok=True)
    log_file = state_file.with_suffix(".log")
    child_env = {**os.environ, **(env or {}), "MOTO_ACCOUNT_ID": LOCAL_ACCOUNT}
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "ops.emulator.server", "--state", str(state_file)],
            cwd=ROOT,
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends model servers too
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmulatorError(
                f"the emulator exited with code {process.returncode}:\n{_tail(log_file)}"
            )
        if state_file.is_file():
            emulator = _read(state_file)
            if emulator is not None and _answers(emulator.url):
                return emulator
        time.sleep(0.1)
    _kill_group(process.pid)
    raise EmulatorError(
        f"the emulator did not start in {START_TIMEOUT_S:.0f} s:\n{_tail(log_file)}"
    )


def stop(state_file: Path = DEFAULT_STATE, *, timeout: float = 60.0) -> bool:
    """Stop the emulator recorded in `state_file`, and any model server it left running; True
    if the emulator was running. It stops its model servers itself, at once; what is still
    running after `timeout` seconds is killed."""
    emulator = _read(state_file)
    state_file.unlink(missing_ok=True)
    running = emulator is not None and _alive(emulator.pid)
    if emulator is not None and running:
        with contextlib.suppress(ProcessLookupError):
            os.kill(emulator.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(emulator.pid):
            time.sleep(0.1)
        _kill_group(emulator.pid)
    _end_model_servers(state_file.with_suffix(".servers"))
    return running


def _end_model_servers(record: Path) -> None:
    """Kill the process groups of model servers the emulator noted and did not stop. A noted
    pid is killed only while it is still a TorchServe process (pids are reused)."""
    try:
        pids = [int(pid) for pid in record.read_text().split()]
    except (OSError, ValueError):
        pids = []
    for pid in pids:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue  # gone (or no /proc here: nothing to check it against)
        if b"torchserve" in command:
            _kill_group(pid)
    record.unlink(missing_ok=True)


def status(state_file: Path = DEFAULT_STATE) -> Emulator | None:
    """The emulator recorded in `state_file` if it is still running."""
    emulator = _read(state_file)
    if emulator is None or not _alive(emulator.pid):
        return None
    return emulator


@contextlib.contextmanager
def running(state_file: Path, *, keep: bool = False) -> Iterator[Emulator]:
    """Start an emulator for the block; stop it afterwards whatever happens (unless `keep`)."""
    emulator = start(state_file)
    try:
        yield emulator
    except BaseException:
        stop(state_file)
        raise
    if not keep:
        stop(state_file)


def _read(state_file: Path) -> Emulator | None:
    try:
        data = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return None
    return Emulator(
        int(data["pid"]),
        int(data["port"]),
        str(data["url"]),
        state_file,
        state_file.with_suffix(".log"),
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of this process still "exists"; reap it if it is ours.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/", timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
