"""Evaluations kept by what they depend on, so an unchanged pair of bundles is not evaluated again.

`make diff` runs again on every push to a pull request; a push that leaves a model's bundles as
they were (a docs fix, another model's change) would evaluate the same base and head again. An
evaluation depends only on the bundles' bytes (their sha256, the CDK asset hash), the handler
module, the requests and the code that answers them (the runner, the serving environment's
packages): the key is the sha256 of all of these. A model's base and head are one entry, never
two halves from different runs, because their latencies are compared as measured together.
Only complete evaluations are kept (every bundle loaded and answered): a failure is run again.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath

from bundler.layout import skipped
from ops.evaluation.evaluate import RUNNER, Answer, Evaluation, Job

FORMAT = 1  # bump when what is stored changes shape


def _file_sha256(path: Path) -> str:
    """A file's sha256, or a folder's over its files' paths and sha256s. In a folder, what the
    bundler never bundles is left out: the runner starts in the folder, as TorchServe does, and
    Python writes the handler's bytecode there, which would make the next key another."""
    if path.is_dir():
        digest = hashlib.sha256()
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            relative = PurePosixPath(file.relative_to(path).as_posix())
            if skipped(relative):
                continue
            digest.update(str(relative).encode() + b"\0")
            digest.update(_file_sha256(file).encode())
        return digest.hexdigest()
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _environment(venv: Path) -> str:
    """The serving environment's installed packages, by name and version (dist-info names)."""
    found = sorted(p.name for p in venv.glob("lib/python*/site-packages/*.dist-info"))
    return hashlib.sha256("\n".join(found).encode()).hexdigest()


def key(jobs: Sequence[Job], *, venv: Path) -> str:
    """The sha256 naming the evaluation of `jobs` together."""
    digest = hashlib.sha256(f"format {FORMAT}\n".encode())
    digest.update(_file_sha256(RUNNER).encode())
    digest.update(_environment(venv).encode())
    for job in jobs:
        digest.update(f"\nbundle {_file_sha256(job.bundle)} program {job.program}\n".encode())
        for request in job.requests:
            digest.update(f"{request.content_type}\0{request.accept}\0".encode())
            digest.update(hashlib.sha256(request.body).digest())
    return digest.hexdigest()


def _dump(evaluations: Sequence[Evaluation]) -> str:
    return json.dumps(
        {
            "format": FORMAT,
            "evaluations": [
                {
                    "load_seconds": e.load_seconds,
                    "answers": [
                        {
                            "status": a.status,
                            "content_type": a.content_type,
                            "body": base64.b64encode(a.body).decode(),
                            "seconds": a.seconds,
                            "phrase": a.phrase,
                        }
                        for a in e.answers
                    ],
                }
                for e in evaluations
            ],
        }
    )


def _load(text: str) -> list[Evaluation] | None:
    try:
        stored = json.loads(text)
        if stored.get("format") != FORMAT:
            return None
        return [
            Evaluation(
                answers=tuple(
                    Answer(
                        status=int(a["status"]),
                        content_type=str(a["content_type"]),
                        body=base64.b64decode(a["body"]),
                        seconds=float(a["seconds"]),
                        phrase=str(a.get("phrase", "")),
                    )
                    for a in e["answers"]
                ),
                load_seconds=float(e["load_seconds"]),
            )
            for e in stored["evaluations"]
        ]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # a damaged entry is evaluated again and overwritten


def cached(
    jobs: Sequence[Job],
    *,
    venv: Path,
    directory: Path | None,
    evaluate: Callable[[], list[Evaluation]],
) -> tuple[list[Evaluation], bool]:
    """The evaluations of `jobs` from `directory` if there, else `evaluate()` (kept when every
    bundle answered); and whether they came from the cache. No directory: no cache."""
    if directory is None:
        return evaluate(), False
    path = directory / f"{key(jobs, venv=venv)}.json"
    if path.is_file():
        found = _load(path.read_text())
        if found is not None and len(found) == len(jobs):
            return found, True
    evaluations = evaluate()
    if all(e.error is None for e in evaluations):
        directory.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        partial.write_text(_dump(evaluations))
        partial.replace(path)
    return evaluations, False
