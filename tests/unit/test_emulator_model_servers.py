"""Model servers end with the emulator: stopped together at shutdown, one that finishes
starting afterwards is stopped at once, and any the emulator did not stop (it was killed) is
ended by `ops.emulator.stop` from the process groups it noted."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

import ops.emulator as emulator
from ops.emulator import model_servers


class Server:
    invocations_url = "http://127.0.0.1:9/invocations"

    def __init__(self) -> None:
        self.stopped = False

    def stop(self) -> None:
        time.sleep(0.3)  # each stop takes a while: stopping them all must not add up
        self.stopped = True


def test_servers_stop_together_and_a_late_one_at_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    started: list[Server] = []

    def start(archive: Path, environment: dict[str, str]) -> Server:
        started.append(Server())
        return started[-1]

    monkeypatch.setattr(model_servers, "start_model_server", start)
    pool = model_servers.ServerPool(3, tmp_path)
    for archive in (b"a", b"b", b"c"):
        pool.server_for(archive, {})
    begun = time.monotonic()
    pool.stop_all()
    assert time.monotonic() - begun < 0.8
    assert all(server.stopped for server in started)
    with pytest.raises(RuntimeError, match="the emulator is stopping"):
        pool.server_for(b"d", {})
    assert started[-1].stopped


def sleeper(*words: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", *words], start_new_session=True
    )


def test_stop_ends_the_model_servers_the_emulator_left(tmp_path: Path) -> None:
    left = sleeper("torchserve", "--foreground")
    other = sleeper("not-a-model-server")
    try:
        state = tmp_path / "state.json"
        state.with_suffix(".servers").write_text(f"{left.pid}\n{other.pid}\n")
        assert emulator.stop(state) is False  # no emulator was running
        left.wait(timeout=10)  # ended (and reaped by stop: it is this test's child) long before
        # its 60 s sleep would have
        assert other.poll() is None  # a pid that is not a model server is left alone
        assert not state.with_suffix(".servers").exists()
    finally:
        for process in (left, other):
            process.kill()
            process.wait()


def test_loading_an_archive_again_before_its_eviction_unloads_keeps_both_apart(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The pool unloads an evicted model outside its lock, so the same archive can be loaded
    again before that unload: the new load must not be refused as a name TorchServe already has,
    and the late unload must not remove it."""
    from ops.serving import ServeError
    from ops.serving import host as hosting

    registered: set[str] = set()

    def add_model(host: object, name: str, archive: Path) -> Path:
        if name in registered:  # TorchServe answers 409 to a name it has
            raise ServeError(f"TorchServe POST /models: HTTP 409 {name} is already registered")
        registered.add(name)
        return archive.parent

    monkeypatch.setattr(hosting, "add_model", add_model)
    monkeypatch.setattr(hosting, "remove_model", lambda host, name: registered.discard(name))
    monkeypatch.setattr(hosting, "invocations_url", lambda host, name: f"http://host/{name}")
    monkeypatch.setattr(model_servers._hosts, "host_for", lambda environment: object())
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(b"the same bundle")
    evicted = model_servers.start_model_server(archive, {})
    again = model_servers.start_model_server(archive, {})
    assert again.invocations_url != evicted.invocations_url
    evicted.stop()  # the eviction's unload, late
    assert registered == {again.invocations_url.rsplit("/", 1)[1]}


def test_the_default_model_limit_counts_the_memory_the_kernel_can_reclaim(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(
        "MemTotal:       24683584 kB\nMemFree:         8388608 kB\nMemAvailable:   20971520 kB\n"
    )
    assert model_servers.available_memory(meminfo) == 20 * 2**30
    monkeypatch.delenv("EMULATOR_MODEL_SERVERS", raising=False)
    monkeypatch.setattr(model_servers, "available_memory", lambda: 20 * 2**30)
    assert model_servers.model_limit() == 34  # half of 20 GiB at 300 MB a model
    monkeypatch.setenv("EMULATOR_MODEL_SERVERS", "3")
    assert model_servers.model_limit() == 3
