"""Serve a synthesized model.tar.gz locally with SageMaker's own PyTorch serving stack.

`python -m ops serve <model>` finds the bundle that synth produced for the model (the stack
template's `Metadata.ModelBundle.sha256` names `cdk.out/asset.<sha256>.tar.gz`), extracts it the
way SageMaker does (to `<base>/model`, with `SAGEMAKER_BASE_DIR=<base>`) and runs TorchServe with
the handler service of sagemaker-pytorch-inference, which loads `code/<SAGEMAKER_PROGRAM>` through
sagemaker-inference's transformer: the same code path as the SageMaker PyTorch inference image.
It listens on 127.0.0.1 only and answers `GET /ping` and `POST /invocations`. Ctrl-C stops it
and everything it started.

The toolkit's own `serve` entry point is not used as is: it writes `/etc/sagemaker-ts.properties`
(root only, shared by every server on the machine), binds 0.0.0.0 and refuses to run next to
another TorchServe. Here each server gets its own folder for the configuration (the toolkit's
`default-ts.properties` plus the settings its entry point adds), model store, logs and worker
sockets, so several can run side by side.

The functions are meant for reuse (tests, a local emulator answering InvokeEndpoint):

    with serving(bundle_for("iris")) as server:
        status, content_type, body = invoke(server, example, "application/json")

The serving stack lives in its own environment, `.venv-serve` (`make serve-setup`), because
its pins (retrying<1.4, setuptools<81 for pkg_resources) are not the main environment's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ops.assembly import read_stacks

ROOT = Path(__file__).resolve().parents[1]
SERVE_VENV = ROOT / ".venv-serve"
HOST = "127.0.0.1"
DEFAULT_TIMEOUT = 180.0  # seconds for /ping to say Healthy: JVM start-up plus model_fn

# Asks the serving environment where the toolkit keeps its files (run with that env's python).
_TOOLKIT_PROBE = """
import json, os, sagemaker_pytorch_serving_container as pkg
from sagemaker_pytorch_serving_container import handler_service
etc = os.path.join(os.path.dirname(pkg.__file__), "etc")
print(json.dumps({
    "handler_service": handler_service.__file__,
    "default_config": os.path.join(etc, "default-ts.properties"),
    "log_config": os.path.join(etc, "log4j2.xml"),
}))
"""


class ServeError(RuntimeError):
    """The bundle cannot be found or the server did not come up; the message says why."""


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
        """The last lines of the server's console log ('' when it was not captured)."""
        if self.log_path is None or not self.log_path.is_file():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports on 127.0.0.1 that nothing listens on right now."""
    with contextlib.ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind((HOST, 0))
        return [int(probe.getsockname()[1]) for probe in probes]


def bundle_for(
    model: str, *, outdir: Path = ROOT / "cdk.out", environment: str = "staging"
) -> Path:
    """The model.tar.gz that synth built for `model`, as the stack template names it.

    Args:
        model: model name (the folder under models/).
        outdir: the cloud assembly folder.
        environment: which environment's stack to read (every environment ships the same bundle).

    Raises:
        ServeError: no such stack in the assembly, or its archive is missing.
    """
    try:
        stacks = read_stacks(outdir)
    except FileNotFoundError as error:
        raise ServeError(str(error)) from None
    for stack in stacks:
        bundle = stack.bundle
        if bundle.get("model") == model and bundle.get("environment") == environment:
            archive = outdir / f"asset.{bundle['sha256']}.tar.gz"
            if not archive.is_file():
                raise ServeError(f"{stack.name} names {archive.name}, which is not in {outdir}")
            return archive
    known = sorted({f"{s.bundle.get('model')} ({s.bundle.get('environment')})" for s in stacks})
    raise ServeError(
        f"no stack for model {model!r} in environment {environment!r} in {outdir}; "
        f"synthesized: {', '.join(known) or 'nothing'} (run `npx cdk synth` after adding a model)"
    )


def extract(archive: Path, model_dir: Path) -> Path:
    """Unpack a model.tar.gz into `model_dir` as SageMaker does, refusing unsafe members."""
    model_dir.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(model_dir, filter="data")
    return model_dir


def _toolkit(venv: Path) -> dict[str, str]:
    python = venv / "bin" / "python"
    if not python.is_file():
        raise ServeError(f"{venv} does not exist; create it with `make serve-setup`")
    probe = subprocess.run(
        [str(python), "-W", "ignore", "-c", _TOOLKIT_PROBE],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        raise ServeError(
            f"the serving environment {venv} is broken (recreate it with `make serve-setup`):\n"
            f"{probe.stderr.strip()}"
        )
    result: dict[str, str] = json.loads(probe.stdout)
    return result


def ts_config(
    *,
    default_config: str,
    handler_service: str,
    port: int,
    side_ports: Sequence[int],
    workers: int,
) -> str:
    """TorchServe properties: the toolkit's defaults plus what its entry point would add.

    The toolkit binds 0.0.0.0 on SAGEMAKER_BIND_TO_PORT for both inference and management;
    here both bind 127.0.0.1 on `port`. TorchServe also opens a metrics endpoint and two gRPC
    endpoints (fixed ports 8082, 7070 and 7071 by default, so a second server would fail to
    start); they get the three free `side_ports` on 127.0.0.1.
    """
    metrics_port, grpc_inference_port, grpc_management_port = side_ports
    defaults = Path(default_config).read_text().rstrip("\n")
    extra = {
        "inference_address": f"http://{HOST}:{port}",
        "management_address": f"http://{HOST}:{port}",
        "metrics_address": f"http://{HOST}:{metrics_port}",
        "grpc_inference_address": HOST,
        "grpc_inference_port": str(grpc_inference_port),
        "grpc_management_address": HOST,
        "grpc_management_port": str(grpc_management_port),
        "default_service_handler": f"{handler_service}:handle",
        "default_response_timeout": "60",
        "default_workers_per_model": str(workers),
    }
    return defaults + "\n" + "".join(f"{key}={value}\n" for key, value in extra.items())


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

    Raises:
        ServeError: the serving environment is missing or broken, or the bundle is not there.
    """
    if not entry_point or "/" in entry_point:
        raise ServeError(f"SAGEMAKER_PROGRAM must name a module under code/, got {entry_point!r}")
    toolkit = _toolkit(venv)
    owns = workdir is None
    work = Path(tempfile.mkdtemp(prefix="serve-")) if workdir is None else workdir
    try:
        base = work / "ml"
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
        port = port or free_port()
        for folder in ("tmp", "logs", "store"):
            (work / folder).mkdir(parents=True, exist_ok=True)
        config = work / "ts.properties"
        config.write_text(
            ts_config(
                default_config=toolkit["default_config"],
                handler_service=toolkit["handler_service"],
                port=port,
                side_ports=[p for p in free_ports(4) if p != port][:3],
                workers=workers,
            )
        )
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SAGEMAKER_", "SM_", "TS_", "PYTHON", "VIRTUAL_ENV"))
        }
        env.update(environment or {})
        env.update(
            {
                # sagemaker-inference reads model_dir = $SAGEMAKER_BASE_DIR/model; code/ is on
                # PYTHONPATH as the toolkit's entry point puts it.
                "SAGEMAKER_BASE_DIR": str(model_dir.parent),
                "SAGEMAKER_PROGRAM": entry_point,
                "SAGEMAKER_BIND_TO_PORT": str(port),
                "PYTHONPATH": str(model_dir / "code"),
                "PYTHONUNBUFFERED": "1",
                "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
                # TorchServe's pid file, worker sockets and Java's temp files stay private.
                "TMPDIR": str(work / "tmp"),
                "TEMP": str(work / "tmp"),
                "LOG_LOCATION": str(work / "logs"),
                "METRICS_LOCATION": str(work / "logs"),
            }
        )
        command = [
            str(venv / "bin" / "torchserve"),
            "--start",
            "--foreground",
            "--ncs",
            "--model-store",
            str(work / "store"),
            "--ts-config",
            str(config),
            "--log-config",
            toolkit["log_config"],
            "--models",
            f"model={model_dir}",
        ]
        log_path = work / "server.log" if capture_log else None
        handle = log_path.open("wb") if log_path else None
        process = subprocess.Popen(
            command,
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


def wait_ready(server: Server, *, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Block until `/ping` says healthy and the model has loaded.

    Raises:
        ServeError: the server exited, or was not ready within `timeout` seconds; the message
            ends with the tail of its log.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServeError(
                f"the server exited with code {server.process.returncode}:\n{server.log_tail()}"
            )
        if ping(server) and _model_ready(server):
            return
        time.sleep(0.5)
    raise ServeError(f"the server was not ready after {timeout:.0f} s:\n{server.log_tail()}")


def _model_ready(server: Server) -> bool:
    """TorchServe answers /ping before the worker has run model_fn; its model API knows."""
    try:
        with urllib.request.urlopen(f"{server.url}/models/model", timeout=2.0) as response:  # noqa: S310
            described = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return False
    workers = described[0].get("workers", []) if described else []
    return any(worker.get("status") == "READY" for worker in workers)


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
    deadline = time.monotonic() + timeout
    while _group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)
    if server._log_handle is not None:
        server._log_handle.close()
    if server.owns_workdir:
        shutil.rmtree(server.workdir, ignore_errors=True)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="model name (a folder under models/)")
    parser.add_argument(
        "--environment", default="staging", help="whose stack names the bundle (default: staging)"
    )
    parser.add_argument(
        "--outdir", type=Path, default=ROOT / "cdk.out", help="cloud assembly (default: cdk.out)"
    )
    parser.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (default: 8080)")
    parser.add_argument("--workers", type=int, default=1, help="TorchServe workers (default: 1)")


def run(args: argparse.Namespace) -> int:
    try:
        archive = bundle_for(args.model, outdir=args.outdir, environment=args.environment)
        entry_point = _entry_point(args.outdir, args.model, args.environment)
        server = start(
            archive,
            port=args.port,
            entry_point=entry_point,
            workers=args.workers,
            capture_log=False,
        )
    except ServeError as error:
        print(f"serve: {error}", file=sys.stderr)
        return 1
    # Ctrl-C (even where a parent shell ignores SIGINT) and SIGTERM both stop the server.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        wait_ready(server)
        example = ROOT / "models" / args.model / "example.json"
        print(
            f"\nserving {archive.name} ({args.model}, SAGEMAKER_PROGRAM={entry_point}) at "
            f"{server.url}\n"
            f"  curl {server.url}/ping\n"
            f"  curl -H 'Content-Type: application/json' --data @{example.relative_to(ROOT)} "
            f"{server.url}/invocations\n"
            "Ctrl-C stops it.",
            flush=True,
        )
        code = server.process.wait()
        print(f"serve: the server exited with code {code}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except ServeError as error:
        print(f"serve: {error}", file=sys.stderr)
        return 1
    finally:
        # A second Ctrl-C must not cut the clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stop(server)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, previous)
        print("serve: stopped; nothing left running", flush=True)


def _raise_interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _entry_point(outdir: Path, model: str, environment: str) -> str:
    """SAGEMAKER_PROGRAM as the synthesized Model sets it (inference.py if not found)."""
    for stack in read_stacks(outdir):
        bundle = stack.bundle
        if bundle.get("model") != model or bundle.get("environment") != environment:
            continue
        for resource in stack.resources("AWS::SageMaker::Model").values():
            properties = resource.get("Properties", {})
            containers = [properties.get("PrimaryContainer", {}), *properties.get("Containers", [])]
            for container in containers:
                program = container.get("Environment", {}).get("SAGEMAKER_PROGRAM")
                if isinstance(program, str) and program:
                    return program
    return "inference.py"
