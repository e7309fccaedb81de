"""`ops.diff.engine`: one node process per Python process answers every diff it asks for, says
what went wrong when a diff fails, and ends with the process that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ops.diff import engine
from ops.diff.engine import DiffError, run_engine
from tests.conftest import ROOT


def bucket(name: str) -> dict[str, Any]:
    return {"Resources": {"Data": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": name}}}}


# A diff with no change does not make the engine load the resource specification (0.2 s, not
# 1.2): the tests below that only need an engine to answer use it.
UNCHANGED = ("Staging-a", bucket("a"), bucket("a"))


def engine_pid() -> int:
    assert engine._engine is not None
    return engine._engine.process.pid


def gone(pid: int, within: float = 10.0) -> bool:
    """Whether `pid` has exited (or is a zombie nobody will reap) within `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def no_engine() -> Iterator[None]:
    """No engine before the test, and none left after it."""
    engine.close()
    yield
    engine.close()


def test_one_engine_answers_every_diff_of_the_process() -> None:
    (created,) = run_engine([("Staging-a", None, bucket("a"))])
    first = engine_pid()
    (renamed,) = run_engine([("Staging-a", bucket("a"), bucket("b"))])
    (destroyed,) = run_engine([("Staging-a", bucket("b"), None)])
    assert engine_pid() == first
    assert [(c.logical_id, c.impact) for c in created.resources] == [("Data", "WILL_CREATE")]
    assert [(c.impact, c.properties) for c in renamed.resources] == [
        ("WILL_REPLACE", ("BucketName",))
    ]
    assert [c.impact for c in destroyed.resources] == ["WILL_DESTROY"]
    assert "[-] AWS::S3::Bucket Data" in destroyed.text


def test_several_stacks_in_one_request_keep_their_order() -> None:
    same = run_engine([("B", bucket("x"), bucket("x")), ("A", None, bucket("y"))])
    assert [result.empty for result in same] == [True, False]


def test_a_diff_the_engine_cannot_make_is_an_error_and_the_next_one_works() -> None:
    broken = {"Resources": {"Data": None}}
    with pytest.raises(DiffError, match=r"the diff engine failed:\n\w*Error: "):
        run_engine([("Staging-a", broken, bucket("a"))])
    first = engine_pid()
    (result,) = run_engine([("Staging-a", None, bucket("a"))])
    assert engine_pid() == first and not result.empty


def test_an_engine_that_died_is_reported_and_replaced() -> None:
    run_engine([UNCHANGED])
    dead = engine_pid()
    os.kill(dead, signal.SIGKILL)
    assert gone(dead)
    with pytest.raises(DiffError, match="the diff engine failed"):
        run_engine([UNCHANGED])
    (result,) = run_engine([UNCHANGED])
    assert engine_pid() != dead and result.empty


def test_close_stops_the_engine() -> None:
    run_engine([UNCHANGED])
    pid = engine_pid()
    engine.close()
    assert engine._engine is None
    assert gone(pid)


def test_without_node_the_error_says_so(
    no_engine: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DiffError, match="node is not on PATH"):
        run_engine([UNCHANGED])


def test_the_engine_ends_with_a_process_that_is_killed() -> None:
    """Killed, a process runs no exit handler: its engine sees its stdin close and exits."""
    script = (
        "import os, signal, sys\n"
        "from ops.diff import engine\n"
        "engine.run_engine([('S', {'Resources': {}}, {'Resources': {}})])\n"
        "print(engine._engine.process.pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert gone(int(done.stdout))
