"""SageMaker's PyTorch inference toolkit, set up for one private TorchServe on 127.0.0.1.

The toolkit's own `serve` entry point is not used as is: it writes `/etc/sagemaker-ts.properties`
(root only, shared by every server on the machine), binds 0.0.0.0 and refuses to run next to
another TorchServe. Here each server gets its own folder for the configuration (the toolkit's
`default-ts.properties` plus the settings its entry point adds), model store, logs and worker
sockets, and its own ports, so several can run side by side.

The toolkit lives in its own environment, `.venv-serve` (`make serve-setup`), because its pins
(retrying<1.4, setuptools<81 for pkg_resources) are not the main environment's.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bundler.requirements import folder_files, listed, unvendored

ROOT = Path(__file__).resolve().parents[2]
SERVE_VENV = ROOT / ".venv-serve"
HOST = "127.0.0.1"

# Asks the serving environment where the toolkit keeps its files (run with that env's python).
# It finds the modules a server's worker imports without importing them (only the toolkit's
# package, whose `__init__` is empty): importing the handler service imports torch, ~4
# CPU-seconds for every server started. What is found but cannot be imported still fails at the
# server's start, with the server's log in the message.
_TOOLKIT_PROBE = """
import importlib.util, json, os, sys
needed = (
    "torch", "ts", "sagemaker_inference", "sagemaker_pytorch_serving_container.handler_service"
)
def found(name):
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # its package is missing
        return False
missing = [name for name in needed if not found(name)]
if missing:
    sys.exit("not installed: " + ", ".join(missing))
handler = importlib.util.find_spec(needed[-1]).origin
etc = os.path.join(os.path.dirname(handler), "etc")
paths = {
    "handler_service": handler,
    "default_config": os.path.join(etc, "default-ts.properties"),
    "log_config": os.path.join(etc, "log4j2.xml"),
}
absent = [path for path in paths.values() if not os.path.isfile(path)]
if absent:
    sys.exit("missing from the toolkit: " + ", ".join(absent))
print(json.dumps(paths))
"""


class ServeError(RuntimeError):
    """The bundle cannot be found or the server did not come up; the message says why."""


@dataclass(frozen=True)
class Toolkit:
    """Where the serving environment keeps the toolkit's files.

    Attributes:
        handler_service: sagemaker-pytorch-inference's handler service module (a file path).
        default_config: the toolkit's `default-ts.properties`.
        log_config: the toolkit's `log4j2.xml`.
    """

    handler_service: str
    default_config: str
    log_config: str


def find_toolkit(venv: Path) -> Toolkit:
    """Ask `venv`'s python where the toolkit is installed (found, not imported).

    Raises:
        ServeError: the environment does not exist, or lacks the toolkit, one of the modules
            its workers import, or one of its files.
    """
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
    found = json.loads(probe.stdout)
    return Toolkit(
        handler_service=found["handler_service"],
        default_config=found["default_config"],
        log_config=found["log_config"],
    )


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


def write_ts_config(*, work: Path, toolkit: Toolkit, port: int, workers: int) -> Path:
    """`ts_config` for a server on `port` written to `<work>/ts.properties`, with the working
    folders TorchServe expects (tmp, logs, store) and three free side ports; returns its path."""
    for folder in ("tmp", "logs", "store"):
        (work / folder).mkdir(parents=True, exist_ok=True)
    config = work / "ts.properties"
    config.write_text(
        ts_config(
            default_config=toolkit.default_config,
            handler_service=toolkit.handler_service,
            port=port,
            side_ports=[p for p in free_ports(4) if p != port][:3],
            workers=workers,
        )
    )
    return config


def install_requirements(
    *, model_dir: Path, work: Path, venv: Path, network_isolation: bool
) -> Path | None:
    """The toolkit's start-up `pip install -r code/requirements.txt`, as the container runs it.

    The SageMaker PyTorch container runs it whenever the file exists
    (`sagemaker_pytorch_serving_container.torchserve.start_torchserve`); `ops.serving` does not
    use that entry point, so the step is taken here. With network isolation (SageMaker's
    `EnableNetworkIsolation`, the stacks' default) there is no index to install from: a
    requirement that code/ does not satisfy (`bundler.requirements`) stops the server, as pip
    stops the isolated container, and nothing is installed. Without isolation the packages are
    installed from the index into this server's own folder (never into the serving
    environment), which is returned to go on PYTHONPATH after code/; None when nothing is listed.

    Raises:
        ServeError: isolated and a requirement is not vendored, or pip failed.
    """
    code = model_dir / "code"
    files = folder_files(code)
    if network_isolation:
        missing = unvendored(files)
        if missing:
            raise ServeError(
                "code/requirements.txt lists "
                f"{', '.join(repr(item.text) for item in missing)}, which code/ does not "
                "vendor; the network-isolated container's `pip install -r` would fail at "
                "start-up, so this server does not start either (vendor them under code/, "
                "or serve the model with network isolation off)"
            )
        return None
    if not listed(files):
        return None
    target = work / "packages"
    pip = subprocess.run(
        [
            *(str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"),
            *("--disable-pip-version-check", "--target", str(target)),
            *("-r", str(code / "requirements.txt")),
        ],
        cwd=code,
        capture_output=True,
        text=True,
        check=False,
    )
    if pip.returncode != 0:
        raise ServeError(f"pip install -r code/requirements.txt failed:\n{pip.stderr[-2000:]}")
    return target


def server_environment(
    *,
    model_dir: Path,
    entry_point: str,
    port: int,
    work: Path,
    venv: Path,
    environment: Mapping[str, str],
    packages: Path | None = None,
) -> dict[str, str]:
    """The process environment of one server, as the SageMaker PyTorch image sets it.

    This process's own SageMaker, TorchServe and Python settings are dropped; `environment`
    (a Model's `Environment`) comes next; the toolkit's own variables last.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SAGEMAKER_", "SM_", "TS_", "PYTHON", "VIRTUAL_ENV"))
    }
    env.update(environment)
    env.update(
        {
            # sagemaker-inference reads model_dir = $SAGEMAKER_BASE_DIR/model; code/ is on
            # PYTHONPATH as the toolkit's entry point puts it.
            "SAGEMAKER_BASE_DIR": str(model_dir.parent),
            "SAGEMAKER_PROGRAM": entry_point,
            "SAGEMAKER_BIND_TO_PORT": str(port),
            "PYTHONPATH": os.pathsep.join(
                str(path) for path in (model_dir / "code", packages) if path is not None
            ),
            "PYTHONUNBUFFERED": "1",
            "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            # TorchServe's pid file, worker sockets and Java's temp files stay private.
            "TMPDIR": str(work / "tmp"),
            "TEMP": str(work / "tmp"),
            "LOG_LOCATION": str(work / "logs"),
            "METRICS_LOCATION": str(work / "logs"),
        }
    )
    return env


def torchserve_command(
    *, venv: Path, work: Path, config: Path, toolkit: Toolkit, model_dir: Path
) -> list[str]:
    """`torchserve --foreground` serving `model_dir` as the model named `model`."""
    return [
        str(venv / "bin" / "torchserve"),
        "--start",
        "--foreground",
        "--ncs",
        "--model-store",
        str(work / "store"),
        "--ts-config",
        str(config),
        "--log-config",
        toolkit.log_config,
        "--models",
        f"model={model_dir}",
    ]
