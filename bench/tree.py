"""A command's whole process tree, watched: wall time, CPU time and peak memory of all of it.

`make deploy-local` is many processes (the CDK CLI, node, the emulator, TorchServe's JVM and its
Python workers), several in process groups of their own; `wait4` sees only the largest one. Here
the tree under the command is sampled every `interval` seconds: peak memory is the largest sum of
resident sets seen at once (so a page shared by two processes counts twice: an upper bound), CPU
time the sum over every process seen of its last user + system time (a process that ends between
two samples loses at most one interval of it). The command's stdout lines that start with `$ `
(the commands it runs, as deploy-local echoes them) mark steps: `cpu_by_step` is the tree's CPU
time from each mark to the next.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class TreeSample:
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    peak_processes: int
    returncode: int
    stdout: str
    stderr: str
    cpu_by_step: tuple[tuple[str, float], ...] = ()  # ("before", ...) then each `$ ` line
    # the kernel's count (`wait4`) for the command and every process it waited for, directly or
    # through its children: exact for those, blind to one reaped by init (a daemon's)
    waited_cpu_seconds: float = 0.0


def _split(
    marks: list[tuple[float, str]], series: list[tuple[float, float]]
) -> tuple[tuple[str, float], ...]:
    """CPU seconds of the tree between consecutive marks (the last one runs to the end)."""

    def cpu_at(moment: float) -> float:
        seen = [cpu for at, cpu in series if at <= moment]
        return seen[-1] if seen else 0.0

    bounds = [(0.0, "before")] + [(at, line) for at, line in marks]
    end = series[-1][0] if series else 0.0
    return tuple(
        (name, max(0.0, cpu_at(bounds[i + 1][0] if i + 1 < len(bounds) else end) - cpu_at(at)))
        for i, (at, name) in enumerate(bounds)
    )


def _processes() -> dict[int, tuple[int, float, int]]:
    """Every process now: pid -> (parent pid, user + system seconds, resident bytes), from
    /proc (Linux; `man 5 proc`: fields 4, 14 and 15 of `stat`, field 2 of `statm`)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            pages = int((entry / "statm").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            continue  # it ended meanwhile
        # the fields after the command name, which may hold spaces and parentheses
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(entry.name)] = (
            int(fields[1]),
            (int(fields[11]) + int(fields[12])) / _TICKS,
            pages * _PAGE,
        )
    return found


def _sample(root: int, cpu: dict[int, float]) -> tuple[float, int]:
    """Resident memory of the tree under `root` now (bytes) and its process count; updates
    `cpu` by pid."""
    processes = _processes()
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    tree, todo = [], [root] if root in processes else []
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    for pid in tree:
        cpu[pid] = processes[pid][1]
    return float(sum(processes[pid][2] for pid in tree)), len(tree)


def run(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    interval: float = 0.25,
) -> TreeSample:
    """Run `command` to the end, watching its tree; its output is returned, not printed."""
    started = time.perf_counter()
    process = subprocess.Popen(
        list(command), cwd=cwd, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    root = process.pid
    cpu: dict[int, float] = {}
    series: list[tuple[float, float]] = []
    marks: list[tuple[float, str]] = []
    lines: list[bytes] = []
    peak = [0.0, 0]
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            memory, count = _sample(root, cpu)
            series.append((time.perf_counter() - started, sum(cpu.values())))
            if memory > peak[0]:
                peak[0], peak[1] = memory, count
            done.wait(interval)

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith(b"$ "):
                marks.append((time.perf_counter() - started, line[2:].decode().strip()))

    watcher = threading.Thread(target=watch, daemon=True)
    reader = threading.Thread(target=read, daemon=True)
    watcher.start()
    reader.start()
    assert process.stderr is not None
    stderr = process.stderr.read()
    reader.join()
    _, status, usage = os.wait4(process.pid, 0)  # wait4, not wait: its resource usage too
    process.returncode = os.waitstatus_to_exitcode(status)
    done.set()
    watcher.join()
    stdout = b"".join(lines)
    return TreeSample(
        seconds=time.perf_counter() - started,
        cpu_seconds=sum(cpu.values()),
        peak_rss_mb=peak[0] / 2**20,
        peak_processes=int(peak[1]),
        returncode=process.returncode,
        stdout=stdout.decode(errors="replace"),
        stderr=stderr.decode(errors="replace"),
        cpu_by_step=_split(marks, series),
        waited_cpu_seconds=usage.ru_utime + usage.ru_stime,
    )
