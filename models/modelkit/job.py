"""One training job's flow, the same for every example model's train.py.

Load the split, train (on every rank under DDP), score both splits, have every rank report the
digest of the weights it ended with, and on rank 0 print the metric lines, export SageMaker's
model-dir layout, write metrics.json and record the run (`modelkit.tracking`, when a tracking
URI is set). A model's train.py supplies only what differs: its hyperparameters, its data, its
network and what its checkpoint holds.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from modelkit import contract
from modelkit.data import Split
from modelkit.metrics import accuracy, metric_line
from modelkit.run_record import JobOutputs, describe_job
from modelkit.tracking import Tracker
from modelkit.training import init_distributed, rank_digests

LoadSplit = Callable[..., Split]


def run(
    *,
    name: str,
    source_dir: Path,
    weights: str,
    args: argparse.Namespace,
    load_split: LoadSplit,
    train: Callable[[argparse.Namespace, Split], nn.Module],
    checkpoint: Callable[[nn.Module, argparse.Namespace], dict[str, object]],
) -> dict[str, float]:
    """Run the job for the model in `source_dir`; return its train and test accuracy.

    Args:
        name: the model's name, for the local output folder runs/<name>/.
        source_dir: the model folder; its code is exported with the weights.
        weights: the weights file name in the model dir (the bundler packs the same name).
        args: parsed hyperparameters (`contract.hyperparameters`).
        load_split: `(data_dir, *, test_fraction, seed) -> Split`.
        train: builds and trains the network on the split's training part.
        checkpoint: what the weights file holds for a trained network.
    """
    where = contract.paths(
        {"train": source_dir / "data"}, source_dir.parents[1] / "runs" / name / "model"
    )
    tracker = Tracker.from_environment(experiment=name)
    split = load_split(where.channels["train"], test_fraction=args.test_fraction, seed=args.seed)
    with tracker.capturing():
        model = train(args, split)
    with torch.no_grad():
        metrics = {
            "train_accuracy": accuracy(model(split.x_train), split.y_train),
            "test_accuracy": accuracy(model(split.x_test), split.y_test),
        }
    finished_ms = int(time.time() * 1000)
    rank, world = init_distributed()
    # Every rank says which weights it ended with: under DDP they must all agree.
    digests = rank_digests(model)
    say(f"rank {rank}/{world}: weights sha256 {digests[rank]}")
    if rank == 0:
        for metric, value in metrics.items():
            say(metric_line(metric, value))
        shared = [source_dir.parent / "modelkit"]
        weights_file = contract.export(
            where.model_dir,
            weights_name=weights,
            checkpoint=checkpoint(model, args),
            source_dir=source_dir,
            shared=shared,
        )
        metrics_file = contract.write_metrics(where.output_data_dir, metrics)
        if tracker.enabled:
            outputs = JobOutputs(metrics, digests, weights_file, metrics_file, finished_ms)
            tracker.record(
                describe_job(
                    name=name,
                    args=args,
                    points=tracker.points,
                    outputs=outputs,
                    channels=where.channels,
                    source_dir=source_dir,
                    shared=shared,
                )
            )
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    return metrics


def say(line: str) -> None:
    """Print one whole line in one write: every rank shares the job's stdout, and `print`
    writes the text and its newline separately when stdout is unbuffered (PYTHONUNBUFFERED),
    so two ranks' lines could run into each other. One write under PIPE_BUF bytes cannot."""
    sys.stdout.write(f"{line}\n")
    sys.stdout.flush()


def held_out_accuracy(
    weights: Path,
    data_dir: Path,
    *,
    load_split: LoadSplit,
    network: Callable[[dict[str, Any]], nn.Module],
) -> float:
    """Accuracy of saved weights on the test split recorded in them (the quality gate's score).

    Args:
        network: builds the untrained network from the saved checkpoint's settings.
    """
    saved = torch.load(weights, map_location="cpu", weights_only=True)
    model = network(saved)
    model.load_state_dict(saved["state_dict"])
    split = load_split(data_dir, **saved["split"])
    with torch.no_grad():
        return accuracy(model.eval()(split.x_test), split.y_test)
