"""InvokeEndpoint answered by the deployed model itself.

Stock moto answers every InvokeEndpoint with canned text. Here the emulator looks the endpoint
up the way SageMaker does (Endpoint -> EndpointConfig production variant -> Model ->
`ModelDataUrl`), reads that model.tar.gz from its own S3, and forwards the request to the local
serving stack (`ops.serving`: SageMaker's PyTorch inference toolkit) loaded with that archive.
Each request publishes SageMaker's invocation metrics (`ops.emulator.metrics`) and, if the
serving EndpointConfig captures data, its record (`ops.emulator.data_capture`).

A model is loaded when its endpoint is created (as SageMaker starts the container before the
endpoint is InService), or on the first request for an archive, and is reused by every request
and every endpoint that serves the same archive with the same environment. Models with the same
container environment share one TorchServe (`ops.serving.host`: the toolkit's multi-model mode),
each in its own worker process with its own extracted archive and handlers: a JVM start per
environment, not per endpoint. At most `EMULATOR_MODEL_SERVERS` models are loaded at once
(default: as many as half the memory available at start holds, at `MODEL_MB` each), least
recently used first out; at most `LOADING_AT_ONCE` load at the same time.
"""

from __future__ import annotations

import contextlib
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


# Resident memory a loaded model costs (its worker: Python, torch, the toolkit; measured
# ~230 MB for the example models), for the default bound on models loaded at once.
MODEL_MB = 300
# Models that load at the same time: each load is a Python worker importing torch, CPU-bound.
LOADING_AT_ONCE = max(1, min(4, os.cpu_count() or 1))


class ModelServer(Protocol):
    invocations_url: str

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
class _HostedModel:
    """A model loaded on a shared TorchServe (`ops.serving.host`); `stop` unloads it and removes
    the archive's folder (the pool's copy of the S3 object)."""

    host: Any
    name: str
    invocations_url: str
    folder: Path

    def stop(self) -> None:
        from ops.serving import ServeError
        from ops.serving import host as hosting

        # the host may be gone already (the emulator is stopping): nothing is left to unload
        with contextlib.suppress(ServeError):
            hosting.remove_model(self.host, self.name)
        shutil.rmtree(self.folder, ignore_errors=True)


# Each TorchServe's process group, noted in a file beside the emulator's state file, so that
# `ops.emulator.stop` can end any the emulator did not (it was killed, or stopping took longer
# than it waited): model servers run in process groups of their own.
_record: Path | None = None
_record_lock = threading.Lock()
# Whether creating an endpoint loads its model at once (the emulator's server turns it on;
# in-process tests that create endpoints start no model server they did not ask for).
_warm = False


def configure(*, record: Path, warm: bool = True) -> None:
    """Where to note the model servers' process groups, and whether endpoints load their model
    when created (the emulator's server sets both)."""
    global _record, _warm
    record.unlink(missing_ok=True)
    _record, _warm = record, warm


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


class _Hosts:
    """One TorchServe per container environment, started on first need, stopped at shutdown."""

    def __init__(self) -> None:
        self._hosts: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._closed = False
        self.loading = threading.BoundedSemaphore(LOADING_AT_ONCE)

    def host_for(self, environment: dict[str, str]) -> Any:
        from ops.serving import host as hosting  # the local serving stack; imported late

        key = json.dumps(environment, sort_keys=True)
        with self._lock:
            if self._closed:
                raise RuntimeError("the emulator is stopping")
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            host = self._hosts.get(key)
            if host is None or host.server.process.poll() is not None:
                host = hosting.start_host(environment=environment)
                _note(host.server.process.pid, running=True)
                with self._lock:
                    self._hosts[key] = host
                    closed = self._closed
                if closed:
                    self._stop(host)
                    raise RuntimeError("the emulator is stopping")
        return host

    def _stop(self, host: Any) -> None:
        from ops.serving import host as hosting

        hosting.stop_host(host)
        _note(host.server.process.pid, running=False)

    def stop_all(self) -> None:
        with self._lock:
            self._closed = True
            hosts = list(self._hosts.values())
            self._hosts.clear()
        threads = [threading.Thread(target=self._stop, args=(h,), daemon=True) for h in hosts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(STOP_WAIT_S)


_hosts = _Hosts()


def start_model_server(archive: Path, environment: dict[str, str]) -> ModelServer:
    """Load `archive` with SageMaker's PyTorch serving stack, on the TorchServe of its container
    environment, and wait until its worker has run `model_fn`, as SageMaker waits for the
    container's health check before an endpoint goes InService."""
    from ops.serving import host as hosting  # the local serving stack; imported late

    host = _hosts.host_for(environment)
    name = f"m{hashlib.sha256(archive.read_bytes()).hexdigest()[:16]}"
    with _hosts.loading:
        hosting.add_model(host, name, archive)
    return _HostedModel(host, name, hosting.invocations_url(host, name), archive.parent)


def model_limit() -> int:
    """`EMULATOR_MODEL_SERVERS`, or as many models as half the available memory holds."""
    configured = os.environ.get("EMULATOR_MODEL_SERVERS")
    if configured:
        return max(1, int(configured))
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return 1
    return max(1, int(available / 2 / (MODEL_MB * 2**20)))


_pool: ServerPool | None = None


def pool() -> ServerPool:
    global _pool
    if _pool is None:
        work_dir = Path(tempfile.mkdtemp(prefix="emulator-models-"))
        _pool = ServerPool(model_limit(), work_dir)
    return _pool


def shutdown() -> None:
    if _pool is not None:
        _pool.stop_all()
    _hosts.stop_all()


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


def warm(account_id: str, region: str, config_name: str) -> None:
    """Load an EndpointConfig's model in the background, as SageMaker starts an endpoint's
    container at CreateEndpoint. The endpoint shows InService at once here (moto's); a request
    that arrives while its model loads waits for it, and a model that fails to load fails that
    request with the reason (`ModelError`), as an endpoint whose container never gets healthy
    fails to create in SageMaker (what the emulator does not imitate: the endpoint stays
    InService)."""

    if not _warm:
        return

    def load() -> None:
        with contextlib.suppress(Exception):  # the request that needs the model reports it
            provision(account_id, region, config_name)

    threading.Thread(target=load, name=f"warm {config_name}", daemon=True).start()


def invoke(server: ModelServer, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
    request = urllib.request.Request(  # noqa: S310 - a loopback URL we started
        server.invocations_url,
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
