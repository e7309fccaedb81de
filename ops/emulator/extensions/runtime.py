"""InvokeEndpoint answered by the deployed model itself.

Stock moto answers every InvokeEndpoint with canned text. Here the emulator looks the endpoint
up the way SageMaker does (Endpoint -> EndpointConfig production variant -> Model ->
`ModelDataUrl`), reads that model.tar.gz from its own S3, and forwards the request to the local
serving stack (`ops.serving`: SageMaker's PyTorch inference toolkit) started for that archive.
Each request publishes SageMaker's invocation metrics (`ops.emulator.metrics`) and, if the
serving EndpointConfig captures data, its record (`ops.emulator.data_capture`).
Servers start on the first request for an archive and are reused; at most
`EMULATOR_MODEL_SERVERS` (default 1) run at once, least recently used first out, so twenty
endpoints do not mean twenty JVMs on a small machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from moto.core.exceptions import ServiceException
from moto.s3.models import s3_backends
from moto.sagemaker.models import sagemaker_backends
from moto.sagemakerruntime import responses as runtime_responses
from moto.utilities.utils import get_partition

from ops.emulator import data_capture, guardrails, metrics
from ops.emulator.clock import emulator_clock

INVOKE_TIMEOUT_S = 60.0
# How long a request waits for a model server that another request is starting.
START_WAIT_S = 300.0
# How long shutting down waits for the model servers to end (each SIGTERMs, then SIGKILLs).
STOP_WAIT_S = 45.0


class ModelServer(Protocol):
    url: str

    def stop(self) -> None: ...


class ModelError(Exception):
    """What SageMaker returns as a ModelError (HTTP 424) when the container fails a request."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class _Starting:
    """A model server being started; requests for the same archive wait for it."""

    ready: threading.Event = field(default_factory=threading.Event)
    server: ModelServer | None = None
    error: BaseException | None = None


class ServerPool:
    """Model servers by archive digest + container environment; least recently used evicted.

    A server starts outside the pool's lock, so requests to fleets that are already up keep
    being answered while a new fleet starts (SageMaker starts a new fleet beside the old one).
    Once `stop_all` has run, a server that finishes starting is stopped at once.
    """

    def __init__(self, limit: int, work_dir: Path) -> None:
        self.limit = max(1, limit)
        self.work_dir = work_dir
        self._servers: OrderedDict[str, ModelServer] = OrderedDict()
        self._starting: dict[str, _Starting] = {}
        self._closed = False
        self._lock = threading.Lock()

    def server_for(self, archive: bytes, environment: dict[str, str]) -> ModelServer:
        key = hashlib.sha256(archive + json.dumps(environment, sort_keys=True).encode()).hexdigest()
        with self._lock:
            server = self._servers.get(key)
            if server is not None:
                self._servers.move_to_end(key)
                return server
            starting = self._starting.get(key)
            first = starting is None
            if starting is None:
                starting = self._starting[key] = _Starting()
        if not first:
            starting.ready.wait(START_WAIT_S)
            if starting.server is None:
                raise RuntimeError(f"the model server did not start: {starting.error}")
            return starting.server
        try:
            starting.server = self._start(key, archive, environment)
        except BaseException as error:
            starting.error = error
            raise
        finally:
            with self._lock:
                del self._starting[key]
            starting.ready.set()
        return starting.server

    def _start(self, key: str, archive: bytes, environment: dict[str, str]) -> ModelServer:
        folder = self.work_dir / key[:16]
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        path = folder / "model.tar.gz"
        path.write_bytes(archive)
        server = start_model_server(path, environment)
        evicted = []
        with self._lock:
            closed = self._closed
            while not closed and len(self._servers) >= self.limit:
                evicted.append(self._servers.popitem(last=False)[1])
            if not closed:
                self._servers[key] = server
        for old in [server] if closed else evicted:
            old.stop()
        if closed:
            raise RuntimeError("the emulator is stopping")
        return server

    def stop_all(self) -> None:
        """Stop every server, all at once: each may take seconds to end its process group."""
        with self._lock:
            self._closed = True
            servers = list(self._servers.values())
            self._servers.clear()
        threads = [threading.Thread(target=server.stop, daemon=True) for server in servers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(STOP_WAIT_S)


@dataclass
class _ServeHandle:
    """An `ops.serving.Server` that is ready for requests."""

    server: Any
    url: str
    folder: Path

    def stop(self) -> None:
        from ops import serving as serve

        serve.stop(self.server)
        _note(self.server.process.pid, running=False)
        shutil.rmtree(self.folder, ignore_errors=True)


# Each model server's process group, noted in a file beside the emulator's state file, so that
# `ops.emulator.stop` can end any the emulator did not (it was killed, or stopping took longer
# than it waited): model servers run in process groups of their own.
_record: Path | None = None
_record_lock = threading.Lock()


def configure(*, record: Path) -> None:
    """Where to note the model servers' process groups (the emulator's server sets this)."""
    global _record
    record.unlink(missing_ok=True)
    _record = record


def _note(pid: int, *, running: bool) -> None:
    if _record is None:
        return
    with _record_lock:
        noted = set(_record.read_text().split()) if _record.exists() else set()
        if running:
            noted.add(str(pid))
        else:
            noted.discard(str(pid))
        _record.write_text("".join(f"{p}\n" for p in sorted(noted)))


def start_model_server(archive: Path, environment: dict[str, str]) -> ModelServer:
    """Start SageMaker's PyTorch serving stack for `archive` on a free loopback port and wait
    until it is healthy, as SageMaker waits before an endpoint goes InService."""
    from ops import serving as serve  # the local serving stack; imported late

    server = serve.start(
        archive,
        entry_point=environment.get("SAGEMAKER_PROGRAM", "inference.py"),
        environment=environment,
    )
    _note(server.process.pid, running=True)
    try:
        serve.wait_ready(server)
    except BaseException:
        serve.stop(server)
        _note(server.process.pid, running=False)
        raise
    return _ServeHandle(server, server.url, archive.parent)


_pool: ServerPool | None = None


def pool() -> ServerPool:
    global _pool
    if _pool is None:
        limit = int(os.environ.get("EMULATOR_MODEL_SERVERS", "1"))
        work_dir = Path(tempfile.mkdtemp(prefix="emulator-models-"))
        _pool = ServerPool(limit, work_dir)
    return _pool


def shutdown() -> None:
    if _pool is not None:
        _pool.stop_all()


def _fleet(backend: Any, config_name: str) -> tuple[str, dict[str, Any]]:
    config = backend.endpoint_configs[config_name]
    variant = config.production_variants[0]
    model = backend._models[variant["ModelName"]]
    return str(variant["VariantName"]), dict(model.primary_container)


def resolve_model(
    account_id: str, region: str, endpoint_name: str, *, config_name: str | None = None
) -> tuple[str, dict[str, Any]]:
    """The variant's name and its Model's primary container, as SageMaker would route; during a
    guarded update `config_name` names the fleet (EndpointConfig) chosen for the request."""
    backend = sagemaker_backends[account_id][region]
    endpoint = backend.endpoints.get(endpoint_name)
    if endpoint is None:
        raise LookupError(f"Endpoint {endpoint_name} of account {account_id} not found.")
    return _fleet(backend, config_name or endpoint.endpoint_config_name)


def route(account_id: str, region: str, endpoint_name: str) -> tuple[str, int]:
    """The EndpointConfig whose fleet serves the request (the new one for its share of traffic
    during a guarded update) and that fleet's instance count."""
    backend = sagemaker_backends[account_id][region]
    endpoint = backend.endpoints.get(endpoint_name)
    if endpoint is None:
        raise LookupError(f"Endpoint {endpoint_name} of account {account_id} not found.")
    deployment = guardrails.active(account_id, region, endpoint_name)
    name = deployment.route() if deployment is not None else endpoint.endpoint_config_name
    variants = backend.endpoint_configs[name].production_variants
    return str(name), int(variants[0].get("InitialInstanceCount") or 1)


def read_s3(account_id: str, region: str, url: str) -> bytes:
    if not url.startswith("s3://"):
        raise ValueError(f"ModelDataUrl {url} is not an s3:// URL")
    bucket, _, key = url[len("s3://") :].partition("/")
    found = s3_backends[account_id][get_partition(region)].get_object(bucket, key)
    if found is None:
        raise LookupError(f"{url} does not exist")
    return bytes(found.value)


def provision(account_id: str, region: str, config_name: str) -> None:
    """Start the fleet of an EndpointConfig (its model server) and wait until it is healthy, as
    SageMaker does before a guarded deployment shifts traffic to it."""
    _, container = _fleet(sagemaker_backends[account_id][region], config_name)
    archive = read_s3(account_id, region, container["ModelDataUrl"])
    pool().server_for(archive, dict(container.get("Environment") or {}))


def invoke(server: ModelServer, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
    request = urllib.request.Request(  # noqa: S310 - a loopback URL we started
        f"{server.url}/invocations",
        data=body,
        method="POST",
        headers={"Content-Type": content_type, "Accept": accept},
    )
    try:
        with urllib.request.urlopen(request, timeout=INVOKE_TIMEOUT_S) as response:  # noqa: S310
            return response.read(), response.headers.get("Content-Type", accept)
    except urllib.error.HTTPError as error:
        raise ModelError(error.code, error.read().decode(errors="replace")) from error


class ModelErrorResponse(ServiceException):
    """SageMaker Runtime's ModelError (HTTP 424): the container failed or answered 4xx/5xx."""

    code = "ModelError"

    def __init__(self, message: str, status: int | None = None, original: str = "") -> None:
        super().__init__(message)
        if status is not None:
            self.OriginalStatusCode = status
            self.OriginalMessage = original


class EndpointValidationError(ServiceException):
    code = "ValidationError"


def _invoke_endpoint(self: Any) -> tuple[int, dict[str, str], bytes | str]:
    endpoint_name = self._get_param("EndpointName") or self.path.split("/")[2]
    account_id, region = self.current_account, self.region
    received = time.monotonic()
    try:
        config_name, instances = route(account_id, region, endpoint_name)
        variant, container = resolve_model(
            account_id, region, endpoint_name, config_name=config_name
        )
    except LookupError as error:
        raise EndpointValidationError(str(error)) from error
    status: int | None = None
    model_seconds: float | None = None
    try:
        archive = read_s3(account_id, region, container["ModelDataUrl"])
        server = pool().server_for(archive, dict(container.get("Environment") or {}))
        sent = time.monotonic()
        request = self.body if isinstance(self.body, bytes) else str(self.body).encode()
        request_type = self.headers.get("Content-Type", "application/json")
        try:
            body, content_type = invoke(
                server, request, request_type, self.headers.get("Accept", "application/json")
            )
            status = 200
        except ModelError as error:
            status = error.status
            raise
        finally:
            model_seconds = time.monotonic() - sent
    except ModelError as error:
        raise ModelErrorResponse(
            f'Received client error ({error.status}) from primary with message "{error.message}".',
            error.status,
            error.message,
        ) from error
    except Exception as error:
        raise ModelErrorResponse(f"the model server did not answer: {error}") from error
    finally:
        clock = emulator_clock()
        invocation = metrics.Invocation(
            endpoint_name=endpoint_name,
            variant_name=variant,
            endpoint_config_name=config_name,
            model_status=status,
            model_seconds=model_seconds if status is not None else None,
            total_seconds=time.monotonic() - received,
            instance_count=instances,
        )
        metrics.publish(account_id, region, invocation, timestamp=clock.now())
    exchange = data_capture.Exchange(
        endpoint=endpoint_name,
        variant=variant,
        request=request,
        request_type=request_type,
        response=body,
        response_type=content_type,
        at=clock.now(),
        inference_id=self.headers.get("X-Amzn-SageMaker-Inference-Id"),
    )
    config = sagemaker_backends[account_id][region].endpoint_configs.get(config_name)
    if config is not None:
        data_capture.capture(account_id, region, config.data_capture_config, exchange)
    return 200, {"Content-Type": content_type, "x-Amzn-Invoked-Production-Variant": variant}, body


def patches() -> list[tuple[object, str, object]]:
    return [(runtime_responses.SageMakerRuntimeResponse, "invoke_endpoint", _invoke_endpoint)]
