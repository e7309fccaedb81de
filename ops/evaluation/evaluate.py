"""Evaluate bundles: each extracted as SageMaker does and answered by `runner.py` in a fresh
process of the serving environment; a model's base and head side by side.

The process gets the environment a model server gets (`ops.serving.toolkit.server_environment`:
`SAGEMAKER_BASE_DIR`, `SAGEMAKER_PROGRAM`, `code/` on `PYTHONPATH`, this process's own Python
and SageMaker settings dropped) and starts in the model folder as TorchServe's workers do, so
the handlers see what they see when served. A model's base and head load, then answer at the
same moment, so their latencies meet the same load (and are only indicative: the runner's
machine is not the endpoint's instance).
"""

from __future__ import annotations

import base64
import json
import shutil
import statistics
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ops.serving import SERVE_VENV, ServeError, extract
from ops.serving.toolkit import server_environment

RUNNER = Path(__file__).with_name("runner.py")
TIMEOUT = 600.0  # seconds for a group of bundles: loading plus every request
# One thread per bundle: a base and a head side by side on a 2-core runner would otherwise spin
# on each other's cores (OpenMP) and measure that instead of the model. The served path keeps
# torch's default (a thread per core); the answers are the same (tests/integration).
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass(frozen=True)
class Request:
    body: bytes
    content_type: str
    accept: str


@dataclass(frozen=True)
class Answer:
    """One response as a client of the endpoint would get it, and how long the handlers took."""

    status: int
    content_type: str
    body: bytes
    seconds: float
    phrase: str = ""


@dataclass(frozen=True)
class Job:
    """One bundle to evaluate: a model.tar.gz or an extracted folder, and its handler module."""

    bundle: Path
    program: str
    requests: tuple[Request, ...]


@dataclass(frozen=True)
class Evaluation:
    """A bundle's answers, in request order; or, when its model did not load, why not."""

    answers: tuple[Answer, ...] = ()
    load_seconds: float = 0.0
    error: str | None = None

    @property
    def median_ms(self) -> float | None:
        if not self.answers:
            return None
        return 1000 * statistics.median(answer.seconds for answer in self.answers)


def _model_dir(bundle: Path, base: Path) -> Path:
    """`<base>/model` holding the bundle as SageMaker lays it out in the container."""
    target = base / "model"
    if bundle.is_dir():
        target.symlink_to(bundle.resolve(), target_is_directory=True)
        return target
    if not bundle.is_file():
        raise ServeError(f"{bundle} does not exist")
    return extract(bundle, target)


@dataclass
class _Process:
    """One running evaluation: its folder (job, log, barrier files, answers) and process."""

    work: Path
    process: subprocess.Popen[bytes] | None = None
    failed: Evaluation | None = None

    @property
    def ready(self) -> bool:
        return (
            (self.work / "ready").exists()
            or self.process is None
            or (self.process.poll() is not None)
        )


def _job_file(job: Job, *, model_dir: Path, work: Path, timeout: float) -> Path:
    path = work / "job.json"
    requests = [
        {
            "body": base64.b64encode(r.body).decode(),
            "content_type": r.content_type,
            "accept": r.accept,
        }
        for r in job.requests
    ]
    path.write_text(
        json.dumps(
            {
                "model_dir": str(model_dir),
                "requests": requests,
                "result": str(work / "out.json"),
                "ready": str(work / "ready"),
                "go": str(work / "go"),
                "wait_seconds": timeout,
            }
        )
    )
    return path


def _start(job: Job, *, venv: Path, timeout: float) -> _Process:
    """Extract the bundle and start its process (which loads the model, then waits)."""
    work = Path(tempfile.mkdtemp(prefix="evaluate-"))
    try:
        model_dir = _model_dir(job.bundle, work / "ml")
    except (ServeError, OSError, tarfile.TarError) as error:
        return _Process(work, failed=Evaluation(error=f"the bundle cannot be extracted: {error}"))
    env = server_environment(
        model_dir=model_dir, entry_point=job.program, port=0, work=work, venv=venv,
        environment=ONE_THREAD,
    )  # fmt: skip
    (work / "tmp").mkdir()
    job_file = _job_file(job, model_dir=model_dir, work=work, timeout=timeout)
    with (work / "log").open("wb") as log:
        process = subprocess.Popen(
            [str(venv / "bin" / "python"), "-P", str(RUNNER), str(job_file)],
            cwd=model_dir.resolve(),  # where TorchServe starts its workers
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return _Process(work, process)


def _finish(running: _Process, *, deadline: float) -> Evaluation:
    """Wait for the process's answers; stop it if it runs past `deadline`."""
    if running.failed is not None or running.process is None:
        return running.failed or Evaluation(error="not started")
    try:
        code = running.process.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        running.process.kill()
        running.process.wait()
        return Evaluation(error="no answers in time; the process was stopped")
    if code != 0 or not (running.work / "out.json").is_file():
        lines = (running.work / "log").read_text(errors="replace").strip().splitlines()
        tail = "\n".join(lines[-15:])
        return Evaluation(error=f"the evaluation process exited with {code}:\n{tail}")
    return _read(running.work)


def _read(work: Path) -> Evaluation:
    result = json.loads((work / "out.json").read_text())
    if "error" in result:
        return Evaluation(error=f"{result['error']}\n{result.get('trace', '')}".strip())
    answers = tuple(
        Answer(
            status=int(a["status"]),
            content_type=a["content_type"],
            body=base64.b64decode(a["body"]),
            seconds=float(a["seconds"]),
            phrase=a.get("phrase", ""),
        )
        for a in result["answers"]
    )
    return Evaluation(answers=answers, load_seconds=float(result["load_seconds"]))


def side_by_side(
    jobs: Sequence[Job], *, venv: Path = SERVE_VENV, timeout: float = TIMEOUT
) -> list[Evaluation]:
    """Evaluate `jobs` together, each in a fresh process of `venv`: all load their model, then
    all answer at once, so their latencies meet the same load. Answers in job order.

    Raises:
        ServeError: the serving environment is missing.
    """
    if not (venv / "bin" / "python").is_file():
        raise ServeError(f"{venv} does not exist; create it with `make serve-setup`")
    deadline = time.monotonic() + timeout
    started = [_start(job, venv=venv, timeout=timeout) for job in jobs]
    try:
        while not all(p.ready for p in started) and time.monotonic() < deadline:
            time.sleep(0.05)
        for running in started:
            (running.work / "go").touch()
        return [_finish(running, deadline=deadline) for running in started]
    finally:
        for running in started:
            if running.process is not None and running.process.poll() is None:
                running.process.kill()
                running.process.wait()
            shutil.rmtree(running.work, ignore_errors=True)
