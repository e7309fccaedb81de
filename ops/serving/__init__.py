"""Serve a model.tar.gz locally with SageMaker's own PyTorch serving stack, on 127.0.0.1 only.

A library for the `serve` command, the tests and the emulator's InvokeEndpoint:

    with serving(archive) as server:
        status, content_type, body = invoke(server, example, "application/json")

or, step by step, `start` (returns at once), `wait_ready` (until `/ping` is healthy and the
model has loaded), `invoke` (`POST /invocations`) and `stop` (the whole process group).

- `toolkit`: the inference toolkit in `.venv-serve`, configured for one private TorchServe.
- `server`: one server's life over a bundle: start, wait, invoke, stop.
- `host`: one TorchServe hosting many bundles (the toolkit's multi-model mode), models added and
  removed through TorchServe's management API; what the emulator serves endpoints with.
"""

from ops.serving.server import (
    DEFAULT_TIMEOUT,
    Server,
    extract,
    invoke,
    ping,
    serving,
    start,
    stop,
    wait_ready,
)
from ops.serving.toolkit import HOST, SERVE_VENV, ServeError

__all__ = [
    "DEFAULT_TIMEOUT",
    "HOST",
    "SERVE_VENV",
    "ServeError",
    "Server",
    "extract",
    "invoke",
    "ping",
    "serving",
    "start",
    "stop",
    "wait_ready",
]
