"""One model server's life: start it over a bundle, wait until it is ready, invoke it, stop it.

A bundle is extracted the way SageMaker does (to `<base>/model`, with
`SAGEMAKER_BASE_DIR=<base>`) and served by TorchServe with the handler service of
sagemaker-pytorch-inference, which loads `code/<SAGEMAKER_PROGRAM>` through
sagemaker-inference's transformer: the same code path as the SageMaker PyTorch inference image.
Each server is its own process group, so `stop` reaches the JVM and the Python workers too.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ops.serving.toolkit import (
    HOST,
    SERVE_VENV,
    ServeError,
    find_toolkit,
    free_port,
    install_requirements,
    server_environment,
    torchserve_command,
    write_ts_config,
)

DEFAULT_TIMEOUT = 180.0  # seconds for /ping to say Healthy: JVM start-up plus model_fn


@dataclass
class Server:
    """A running TorchServe process group serving one extracted bundle.

    Attributes:
        url: base URL, `http://127.0.0.1:<port>`; `/ping` and `/invocations` live under it.
        port: the inference port (SageMaker's 8080 inside a container).
        model_dir: the extracted bundle (`<workdir>/ml/model`).
        workdir: the server's own folder (config, model store, logs, sockets).
        log_path: TorchServe's console output, or None when it goes to the caller's stdout.
        process: the `torchserve --foreground` process, leader of its own process group.
    """

    url: str
    port: int
    model_dir: Path
    workdir: Path
    log_path: Path | None
    process: subprocess.Popen[bytes]
    owns_workdir: bool = True
    _log_handle: IO[bytes] | None = field(default=None, repr=False)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server's console log ('' when it was not captured), without
        TorchServe's periodic metric lines (`TS_METRICS`), which would crowd out a traceback."""
        if self.log_path is None or not self.log_path.is_file():
            return ""
        logged = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join([line for line in logged if " TS_METRICS - " not in line][-lines:])


def extract(archive: Path, model_dir: Path) -> Path:
    """Unpack a model.tar.gz into `model_dir` as SageMaker does, refusing unsafe members."""
    model_dir.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(model_dir, filter="data")
    return model_dir


def _model_folder(bundle: Path, *, base: Path, entry_point: str) -> Path:
    """The extracted bundle to serve: `bundle` itself if a folder, else extracted under `base`."""
    if bundle.is_dir():
        model_dir = bundle.resolve()
    elif bundle.is_file():
        model_dir = extract(bundle, base / "model")
    else:
        raise ServeError(f"{bundle} does not exist")
    if model_dir.name != "model":
        raise ServeError(f"{model_dir}: an extracted bundle must be a folder named 'model'")
    if not (model_dir / "code" / entry_point).is_file():
        raise ServeError(f"{bundle} has no code/{entry_point}")
    return model_dir


def start(
    bundle: Path,
    *,
    port: int | None = None,
    entry_point: str = "inference.py",
    workers: int = 1,
    workdir: Path | None = None,
    venv: Path = SERVE_VENV,
    environment: Mapping[str, str] | None = None,
    capture_log: bool = True,
    network_isolation: bool = True,
) -> Server:
    """Start serving a bundle; returns at once (call `wait_ready` before sending requests).

    Args:
        bundle: a model.tar.gz, or a folder that is an extracted one (used in place).
        port: inference port on 127.0.0.1; a free one when None.
        entry_point: SAGEMAKER_PROGRAM, the handler module under code/.
        workers: TorchServe workers for the model (SageMaker's default is one per vCPU).
        workdir: the server's own folder; a fresh temporary one (removed by `stop`) when None.
        venv: the environment that has the serving stack installed.
        environment: extra container environment variables (a Model's `Environment`).
        capture_log: write TorchServe's console to `<workdir>/server.log` (True) or let it
            through to this process's stdout and stderr (False).
        network_isolation: serve as a container without network (the Model's
            `EnableNetworkIsolation`): code/requirements.txt must be vendored in code/; False
            installs it from the package index into the server's folder, as the container would.

    Raises:
        ServeError: the serving environment is missing or broken, the bundle is not there, or
            its requirements cannot be installed the way the container would.
    """
    if not entry_point or "/" in entry_point:
        raise ServeError(f"SAGEMAKER_PROGRAM must name a module under code/, got {entry_point!r}")
    toolkit = find_toolkit(venv)
    owns = workdir is None
    work = Path(tempfile.mkdtemp(prefix="serve-")) if workdir is None else workdir
    try:
        model_dir = _model_folder(bundle, base=work / "ml", entry_point=entry_point)
        packages = install_requirements(
            model_dir=model_dir, work=work, venv=venv, network_isolation=network_isolation
        )
        port = port or free_port()
        config = write_ts_config(work=work, toolkit=toolkit, port=port, workers=workers)
        env = server_environment(
            model_dir=model_dir,
            entry_point=entry_point,
            port=port,
            work=work,
            venv=venv,
            environment=environment or {},
            packages=packages,
        )
        log_path = work / "server.log" if capture_log else None
        handle = log_path.open("wb") if log_path else None
        process = subprocess.Popen(
            torchserve_command(
                venv=venv, work=work, config=config, toolkit=toolkit, model_dir=model_dir
            ),
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT if handle else None,
            start_new_session=True,  # its own process group, so stop() reaches the JVM and workers
        )
    except BaseException:
        if owns:
            shutil.rmtree(work, ignore_errors=True)
        raise
    return Server(
        url=f"http://{HOST}:{port}",
        port=port,
        model_dir=model_dir,
        workdir=work,
        log_path=log_path,
        process=process,
        owns_workdir=owns,
        _log_handle=handle,
    )


def ping(server: Server, *, timeout: float = 2.0) -> bool:
    """True when `GET /ping` answers 200."""
    try:
        with urllib.request.urlopen(f"{server.url}/ping", timeout=timeout) as response:  # noqa: S310 - http on 127.0.0.1
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


# TorchServe starts a model's worker process again each time it dies, backing off 1, 1, 2, 3, 5...
# seconds, for as long as the server runs (TorchServe's `WorkerThread`, seen in its log as "Retry
# worker"). A handler that raises while loading would so hold `wait_ready` for its whole timeout
# (three minutes by default) before it said anything. The model's describe API
# (https://pytorch.org/serve/management_api.html) names the worker's process (`pid`, -1 until the
# first one connects; the last one's until the next one connects, measured with TorchServe 0.12):
# a named process that has left the server's process group while no worker is READY has died
# loading the model. `wait_ready` gives up at the second such death: one could be a worker killed
# from outside (out of memory), from which TorchServe's next start recovers; a handler that fails
# the same way twice will fail every time.
WORKER_DEATHS = 2


def _workers(server: Server, model: str) -> list[dict[str, object]]:
    """The model's workers as TorchServe's describe API lists them ([] while it cannot say)."""
    try:
        with urllib.request.urlopen(f"{server.url}/models/{model}", timeout=2.0) as response:  # noqa: S310
            described = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return []
    if not isinstance(described, list) or not described or not isinstance(described[0], dict):
        return []
    workers = described[0].get("workers", [])
    return [worker for worker in workers if isinstance(worker, dict)]


def _left_group(pid: int, group: int) -> bool:
    """True when process `pid` is no longer in process group `group` (it ended, was reaped)."""
    try:
        return os.getpgid(pid) != group
    except ProcessLookupError:
        return True


def wait_ready(
    server: Server, *, timeout: float = DEFAULT_TIMEOUT, model: str | None = "model"
) -> None:
    """Block until `/ping` says healthy and `model` has loaded (None: a server with no model
    yet, as a multi-model host starts).

    Raises:
        ServeError: the server exited, the model's worker died twice while loading it (see
            `WORKER_DEATHS`), or the server was not ready within `timeout` seconds; the message
            ends with the tail of its log.
    """
    deadline = time.monotonic() + timeout
    died: set[int] = set()
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServeError(
                f"the server exited with code {server.process.returncode}:\n{server.log_tail()}"
            )
        if model is None:
            if ping(server):
                return
        else:
            workers = _workers(server, model)
            if any(worker.get("status") == "READY" for worker in workers) and ping(server):
                return
            died |= _dead(workers, group=server.process.pid)
            if len(died) >= WORKER_DEATHS:
                raise ServeError(_died_message(server, model, len(died)))
        time.sleep(0.5)
    raise ServeError(f"the server was not ready after {timeout:.0f} s:\n{server.log_tail()}")


def _dead(workers: list[dict[str, object]], *, group: int) -> set[int]:
    """The processes the workers are listed with that are no longer in the server's group."""
    pids = {worker.get("pid") for worker in workers if worker.get("status") != "READY"}
    return {pid for pid in pids if isinstance(pid, int) and pid > 0 and _left_group(pid, group)}


def _died_message(server: Server, model: str, deaths: int) -> str:
    where = server.log_tail()
    if not where:
        where = "its traceback is in the server's output above"
    return (
        f"the worker of model {model!r} died {deaths} times while loading it "
        f"(TorchServe would start it again and again):\n{where}"
    )


def invoke(
    server: Server,
    body: bytes,
    content_type: str = "application/json",
    *,
    accept: str = "application/json",
    timeout: float = 60.0,
) -> tuple[int, str, bytes]:
    """`POST /invocations`; returns (status, content type, body), errors included."""
    request = urllib.request.Request(  # noqa: S310 - http on 127.0.0.1
        f"{server.url}/invocations",
        data=body,
        method="POST",
        headers={"Content-Type": content_type, "Accept": accept},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.headers.get("Content-Type", ""), error.read()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_gone(pgid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.2)


def stop(server: Server, *, timeout: float = 20.0) -> None:
    """Stop the server's whole process group (TorchServe, the JVM, the Python workers).

    SIGTERM first, SIGKILL after `timeout` seconds; then removes the work folder if `start`
    made it. Safe to call twice.
    """
    process = server.process
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=timeout)
    # The JVM and workers may outlive the leader for a moment; the group must end entirely.
    _wait_gone(process.pid, timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)
    # A killed process stays in the group until its parent (for the leader's orphans, init)
    # has reaped it: seen once under load, the group still there right after the SIGKILL.
    _wait_gone(process.pid, 5.0)
    if server._log_handle is not None:
        server._log_handle.close()
    if server.owns_workdir:
        shutil.rmtree(server.workdir, ignore_errors=True)


@contextlib.contextmanager
def serving(
    bundle: Path, *, timeout: float = DEFAULT_TIMEOUT, **options: object
) -> Iterator[Server]:
    """`start`, `wait_ready`, yield the server, and `stop` it whatever happens.

    Keyword options are those of `start`.
    """
    server = start(bundle, **options)  # type: ignore[arg-type]
    try:
        wait_ready(server, timeout=timeout)
        yield server
    finally:
        stop(server)
