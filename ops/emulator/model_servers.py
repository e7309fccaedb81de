"""The emulator's model servers: which models are loaded, on which TorchServe, for how long.

A model is loaded when its endpoint is created (as SageMaker starts the container before the
endpoint is InService), or on the first request for an archive, and is reused by every request
and every endpoint that serves the same archive with the same environment. Models with the same
container environment share one TorchServe (`ops.serving.host`: the toolkit's multi-model mode),
each in its own worker process with its own extracted archive and handlers: a JVM start per
environment, not per endpoint. At most `EMULATOR_MODEL_SERVERS` models are loaded at once
(default: as many as half the memory available at start holds, at `MODEL_MB` each), least
recently used first out; at most `LOADING_AT_ONCE` load at the same time.

`ops.emulator.extensions.runtime` asks this module for a model's server; the emulator's server
process configures it at start and shuts it down at exit.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

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


def loads_on_create() -> bool:
    """Whether creating an endpoint loads its model at once (see `configure`)."""
    return _warm


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
_loads = itertools.count(1)


def start_model_server(archive: Path, environment: dict[str, str]) -> ModelServer:
    """Load `archive` with SageMaker's PyTorch serving stack, on the TorchServe of its container
    environment, and wait until its worker has run `model_fn`, as SageMaker waits for the
    container's health check before an endpoint goes InService."""
    from ops.serving import host as hosting  # the local serving stack; imported late

    host = _hosts.host_for(environment)
    # Each load registers a name of its own: the pool unloads an evicted model after taking it
    # out, outside its lock, so the same archive may be loaded again before that unload; with
    # one name per archive the new load was refused (TorchServe: 409, already registered) or
    # the late unload removed it.
    name = f"m{hashlib.sha256(archive.read_bytes()).hexdigest()[:16]}_{next(_loads)}"
    with _hosts.loading:
        hosting.add_model(host, name, archive)
    return _HostedModel(host, name, hosting.invocations_url(host, name), archive.parent)


def model_limit() -> int:
    """`EMULATOR_MODEL_SERVERS`, or as many models as half the available memory holds."""
    configured = os.environ.get("EMULATOR_MODEL_SERVERS")
    if configured:
        return max(1, int(configured))
    available = available_memory()
    if available is None:
        return 1
    return max(1, int(available / 2 / (MODEL_MB * 2**20)))


def available_memory(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """Bytes the kernel can give without swapping: `MemAvailable`, which counts the page cache
    it would reclaim. Free pages alone (`SC_AVPHYS_PAGES`) fall as the cache fills: on this
    24 GiB machine after a day's runs, 15.9 GB free of 22.9 GB available (27 model slots
    instead of 39), and below ~12 GB free a 20-model deploy gets fewer slots than endpoints,
    so models are evicted and loaded again while it verifies."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None


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
