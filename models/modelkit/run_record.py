"""What a training job's run records, put together from what the job has computed.

Kept apart from the tracking library (`modelkit.tracking` logs it), so the record is the same
whatever store receives it, and can be checked without one.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from modelkit import provenance

# `metric epoch=3; train_loss=0.412000; validation_accuracy=0.951000;` (modelkit.metrics).
_METRIC_LINE = re.compile(r"^metric(?: epoch=(?P<epoch>[0-9]+);)?(?P<pairs>(?: \w+=[^;\s]+;)+)$")
_PAIR = re.compile(r"(\w+)=([0-9.eE+-]+);")

CODE_ARCHIVE = "MODELKIT_CODE_SHA256"  # sha256 of the training code archive, when known
JOB_NAME = "TRAINING_JOB_NAME"  # set by SageMaker inside a training job


@dataclass(frozen=True)
class Point:
    """One metric value; `step` is the epoch for per-epoch lines, 0 otherwise."""

    name: str
    value: float
    step: int
    timestamp_ms: int


@dataclass(frozen=True)
class RunRecord:
    """Everything a run records.

    Args:
        params: the hyperparameters, as text.
        metrics: per-epoch points and the final metrics.
        tags: provenance (git, digests, seed, package versions).
        files: (local file, artifact folder) pairs.
        texts: (file name, artifact folder, content) of artifacts written for the run.
    """

    params: Mapping[str, str]
    metrics: Sequence[Point]
    tags: Mapping[str, str]
    files: Sequence[tuple[Path, str]] = ()
    texts: Sequence[tuple[str, str, str]] = ()


def parse_metric_line(line: str, *, timestamp_ms: int) -> list[Point]:
    """The points of one printed metric line; [] for any other line."""
    match = _METRIC_LINE.match(line.strip())
    if match is None:
        return []
    step = int(match["epoch"] or 0)
    return [
        Point(name, float(value), step, timestamp_ms)
        for name, value in _PAIR.findall(match["pairs"])
    ]


@dataclass(frozen=True)
class JobOutputs:
    """What a finished job produced, as `modelkit.job` knows it.

    Args:
        metrics: final metrics by name (train and held-out accuracy).
        digests: each rank's weights digest (`training.state_digest`), by rank.
        weights: the exported weights file.
        metrics_file: the job's metrics.json.
        finished_ms: when training finished (the final metrics' timestamp).
    """

    metrics: Mapping[str, float]
    digests: Sequence[str]
    weights: Path
    metrics_file: Path
    finished_ms: int


def describe_job(
    *,
    name: str,
    args: argparse.Namespace,
    points: Sequence[Point],
    outputs: JobOutputs,
    channels: Mapping[str, Path],
    source_dir: Path,
    shared: Sequence[Path],
    environ: Mapping[str, str] | None = None,
) -> RunRecord:
    """The run of one job: hyperparameters, printed and final metrics, provenance, files.

    Args:
        name: the model.
        args: the parsed hyperparameters.
        points: the metric lines printed while training.
        channels: the data channels the job read, by name.
        source_dir: the model folder (its code); `shared` the shared folders beside it.
    """
    env = os.environ if environ is None else environ
    finals = [
        Point(k, float(v), 0, outputs.finished_ms) for k, v in sorted(outputs.metrics.items())
    ]
    return RunRecord(
        params={k: str(v) for k, v in sorted(vars(args).items())},
        metrics=[*points, *finals],
        tags={
            "model": name,
            **({"seed": str(args.seed)} if hasattr(args, "seed") else {}),
            **_source_tags(source_dir, env),
            **{f"data.{c}.sha256": provenance.tree_sha256(p) for c, p in sorted(channels.items())},
            "code.sha256": provenance.code_sha256(source_dir, shared),
            **({"code.archive_sha256": env[CODE_ARCHIVE]} if env.get(CODE_ARCHIVE) else {}),
            **_weights_tags(outputs),
            **{f"version.{k}": v for k, v in provenance.package_versions().items()},
        },
        files=[(outputs.weights, "model"), (outputs.metrics_file, "output")],
        texts=[
            ("packages.txt", "environment", provenance.installed_packages()),
            *(
                (f"{channel}.sha256sum", "data", provenance.tree_listing(path))
                for channel, path in sorted(channels.items())
            ),
        ],
    )


def _source_tags(source_dir: Path, env: Mapping[str, str]) -> dict[str, str]:
    """MLflow's own source tags (the UI shows them), the dirty flag and the SageMaker job."""
    git = provenance.git_state(source_dir)
    tags = {
        "mlflow.source.name": f"{source_dir.name}/train.py",
        "mlflow.source.type": "JOB" if env.get(JOB_NAME) else "LOCAL",
    }
    if git:
        tags["mlflow.source.git.commit"] = git["commit"]
        tags["mlflow.source.git.branch"] = git["branch"]
        tags["git.dirty"] = git["dirty"]
    if env.get(JOB_NAME):
        tags["sagemaker.training_job"] = env[JOB_NAME]
    return tags


def _weights_tags(outputs: JobOutputs) -> dict[str, str]:
    """The weights file's sha256 and every rank's digest of its weights (equal under DDP)."""
    tags = {f"weights.rank{rank}.sha256": d for rank, d in enumerate(outputs.digests)}
    tags["weights.file_sha256"] = provenance.file_sha256(outputs.weights)
    tags["weights.ranks_agree"] = str(len(set(outputs.digests)) == 1).lower()
    tags["world_size"] = str(len(outputs.digests))
    return tags
