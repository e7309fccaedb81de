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
