"""One TorchServe hosting many bundles: the toolkit's multi-model mode, driven through TorchServe's
management API.

A TorchServe costs a JVM start (seconds of CPU) before any model loads; twenty endpoints served
one TorchServe each pay it twenty times. SageMaker's multi-model endpoints run the same serving
stack with `SAGEMAKER_MULTI_MODEL=true` and load each model into the running server with
TorchServe's `POST /models` (the toolkit's handler service then puts the model's own `code/` on
its worker's module path instead of the server's PYTHONPATH); see "Build Your Own Container for
SageMaker Multi-Model Endpoints",
https://docs.aws.amazon.com/sagemaker/latest/dg/build-multi-model-build-container.html, and
TorchServe's management API, https://pytorch.org/serve/management_api.html.

What stays each model's own: its extracted archive (`<workdir>/models/<name>/model`, the
deployed model.tar.gz as SageMaker extracts it), its worker process (TorchServe starts one
Python process per model, so two models that both ship `model.py` never share a module), its
handlers (`code/<SAGEMAKER_PROGRAM>` loaded by the toolkit's transformer). What a host's models
share is the container environment: a host serves only bundles whose Model `Environment` is the
same (the caller groups them), as the process environment is the JVM's and every worker's.

Left open by the docs and chosen here: a single-model container puts `code/` first on
PYTHONPATH, multi-model mode appends it to the worker's `sys.path`; the project's handlers put
their own folder first themselves, so both find the same modules.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path

from ops.serving.server import DEFAULT_TIMEOUT, Server, extract, stop, wait_ready
from ops.serving.toolkit import (
    HOST,
    SERVE_VENV,
    ServeError,
    find_toolkit,
    free_port,
    server_environment,
    torchserve_command,
    write_ts_config,
)

MULTI_MODEL = {"SAGEMAKER_MULTI_MODEL": "true"}


@dataclass
class Host:
    """A running TorchServe in multi-model mode and the models registered on it.

    Attributes:
        server: the TorchServe process group (its `url` answers `/ping` and the model API).
        environment: the container environment every model on it shares.
        models: registered model name -> its extracted bundle folder.
    """

    server: Server
    environment: dict[str, str]
    models: dict[str, Path] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def url(self) -> str:
        return self.server.url


def start_host(
    *,
    environment: Mapping[str, str],
    workdir: Path | None = None,
    venv: Path = SERVE_VENV,
    timeout: float = DEFAULT_TIMEOUT,
) -> Host:
    """Start an empty TorchServe in the toolkit's multi-model mode and wait until it answers.

    Raises:
        ServeError: the serving environment is broken, or the server did not come up.
    """
    entry_point = environment.get("SAGEMAKER_PROGRAM", "inference.py")
    if not entry_point or "/" in entry_point:
        raise ServeError(f"SAGEMAKER_PROGRAM must name a module under code/, got {entry_point!r}")
    toolkit = find_toolkit(venv)
    owns = workdir is None
    work = Path(tempfile.mkdtemp(prefix="serve-host-")) if workdir is None else workdir
    (work / "models").mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = write_ts_config(work=work, toolkit=toolkit, port=port, workers=1)
    env = server_environment(
        model_dir=work / "models" / "model",
        entry_point=entry_point,
        port=port,
        work=work,
        venv=venv,
        environment={**environment, **MULTI_MODEL},
    )
    env.pop("PYTHONPATH")  # each worker gets its own code/ from the handler service
    command = torchserve_command(
        venv=venv, work=work, config=config, toolkit=toolkit, model_dir=work
    )
    command = command[: command.index("--models")]  # models come through the management API
    log_path = work / "server.log"
    handle = log_path.open("wb")
    process = subprocess.Popen(
        command,
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so stop() reaches the JVM and workers
    )
    server = Server(
        url=f"http://{HOST}:{port}",
        port=port,
        model_dir=work / "models",
        workdir=work,
        log_path=log_path,
        process=process,
        owns_workdir=owns,
        _log_handle=handle,
    )
    try:
        wait_ready(server, timeout=timeout, model=None)
    except BaseException:
        stop(server)
        raise
    return Host(server=server, environment=dict(environment))


def _management(host: Host, method: str, path: str, *, timeout: float) -> dict[str, object]:
    request = urllib.request.Request(f"{host.url}{path}", method=method)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            answer = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")
        raise ServeError(
            f"TorchServe {method} {path.split('?')[0]}: HTTP {error.code} {detail}\n"
            f"{host.server.log_tail()}"
        ) from error
    except (urllib.error.URLError, OSError) as error:
        raise ServeError(f"TorchServe {method} {path.split('?')[0]}: {error}") from error
    return answer if isinstance(answer, dict) else {"answer": answer}


def add_model(host: Host, name: str, archive: Path, *, timeout: float = DEFAULT_TIMEOUT) -> Path:
    """Extract `archive` as SageMaker does and load it on `host` as model `name` (one worker);
    returns when the model's worker has run `model_fn`.

    Raises:
        ServeError: the archive has no handler module, or the model did not load (the message
            carries the tail of the server's log).
    """
    program = host.environment.get("SAGEMAKER_PROGRAM", "inference.py")
    with host._lock:
        if name in host.models:  # its folder is in use: refused before anything is touched
            raise ServeError(f"a model named {name} is already loaded on {host.url}")
    base = host.server.workdir / "models" / name
    shutil.rmtree(base, ignore_errors=True)
    model_dir = extract(archive, base / "model")
    if not (model_dir / "code" / program).is_file():
        shutil.rmtree(base, ignore_errors=True)
        raise ServeError(f"{archive} has no code/{program}")
    query = urllib.parse.urlencode(
        {
            "url": str(model_dir),
            "model_name": name,
            "initial_workers": 1,
            "synchronous": "true",
            "response_timeout": 60,
        }
    )
    try:
        _management(host, "POST", f"/models?{query}", timeout=timeout)
    except ServeError as error:
        shutil.rmtree(base, ignore_errors=True)
        cause = error.__cause__
        if isinstance(cause, urllib.error.HTTPError) and cause.code == HTTPStatus.CONFLICT:
            raise  # the name is another registration's: it stays
        # TorchServe keeps a registration whose load failed (or outlived our wait): take it
        # back (best effort), so the name and its worker are not left behind.
        with contextlib.suppress(ServeError):
            _management(host, "DELETE", f"/models/{name}", timeout=30.0)
        raise
    with host._lock:
        host.models[name] = model_dir
    return model_dir


def remove_model(host: Host, name: str, *, timeout: float = 60.0) -> None:
    """Unregister model `name` (its worker ends) and remove its extracted bundle."""
    with host._lock:
        model_dir = host.models.pop(name, None)
    try:
        _management(host, "DELETE", f"/models/{name}", timeout=timeout)
    finally:
        if model_dir is not None:
            shutil.rmtree(model_dir.parent, ignore_errors=True)


def invocations_url(host: Host, name: str) -> str:
    """Where model `name` answers: TorchServe's SageMaker-compatible `/invocations`, the path a
    single-model container answers on, with the model chosen by `model_name` (TorchServe's
    inference API, https://pytorch.org/serve/inference_api.html)."""
    return f"{host.url}/invocations?{urllib.parse.urlencode({'model_name': name})}"


def stop_host(host: Host) -> None:
    """Stop the whole TorchServe process group and remove its folder (if `start_host` made it)."""
    stop(host.server)
