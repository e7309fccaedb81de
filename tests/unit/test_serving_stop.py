"""`ops.serving.stop` ends the server's whole process group, including a member that ignores
SIGTERM and, once killed, is reaped late by its parent (as init reaps the JVM and the workers
the leader leaves behind)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from ops.serving.server import Server, stop
from tests.conftest import group_alive

IGNORES_TERM = (
    "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ignoring', flush=True)\ntime.sleep(60)"
)


def reap_late(process: subprocess.Popen[bytes], delay: float) -> threading.Thread:
    """Reap `process` `delay` seconds after it dies: until then it stays in its group."""

    def reaper() -> None:
        os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)  # dead, not yet reaped
        time.sleep(delay)
        process.wait()

    thread = threading.Thread(target=reaper, daemon=True)
    thread.start()
    return thread


def test_stop_waits_until_a_killed_member_has_left_the_group(tmp_path: Path) -> None:
    leader = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], process_group=0
    )
    member = subprocess.Popen(
        [sys.executable, "-c", IGNORES_TERM], process_group=leader.pid, stdout=subprocess.PIPE
    )
    reaper = reap_late(member, delay=1.0)
    server = Server(
        url="http://127.0.0.1:1", port=1, model_dir=tmp_path, workdir=tmp_path, log_path=None,
        process=leader, owns_workdir=False,
    )  # fmt: skip
    try:
        assert member.stdout is not None
        assert member.stdout.readline() == b"ignoring\n"  # its handler is set
        stop(server, timeout=0.5)
        assert not group_alive(leader.pid)
        assert leader.returncode == -signal.SIGTERM
        reaper.join(timeout=5)
        assert member.returncode == -signal.SIGKILL  # it ignored SIGTERM
    finally:
        for process in (leader, member):
            if process.poll() is None:
                process.kill()
        reaper.join(timeout=5)
        if member.stdout is not None:
            member.stdout.close()
