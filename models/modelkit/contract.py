"""SageMaker's training contract: hyperparameters, data channels and output folders.

Inside a training job SageMaker sets `SM_MODEL_DIR`, `SM_CHANNEL_<NAME>`, `SM_OUTPUT_DATA_DIR`
and `SM_HPS` (JSON) and also passes each hyperparameter as `--name value`. Locally the same
script runs with none of those set, using the defaults given here.

Whatever the job writes to `SM_MODEL_DIR` becomes its `model.tar.gz`; `export` lays that folder
out the way SageMaker's PyTorch serving container reads it (weights at the top, the inference
code under `code/`), so a training job's own artifact is directly deployable.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

# Files of a model folder that belong in code/ (the same globs as the default artifact.code).
CODE_GLOBS = ("*.py", "requirements.txt")


@dataclass(frozen=True)
class Paths:
    model_dir: Path
    output_data_dir: Path
    channels: dict[str, Path]


def paths(default_channels: dict[str, Path], default_model_dir: Path) -> Paths:
    """Folders from SM_* variables, falling back to local defaults outside SageMaker."""
    channels = {
        name: Path(os.environ.get(f"SM_CHANNEL_{name.upper()}", str(folder)))
        for name, folder in default_channels.items()
    }
    model_dir = Path(os.environ.get("SM_MODEL_DIR", str(default_model_dir)))
    output = Path(os.environ.get("SM_OUTPUT_DATA_DIR", str(model_dir.parent / "output")))
    return Paths(model_dir, output, channels)


def option(parser: argparse.ArgumentParser, name: str, **kwargs: Any) -> None:
    """Add `--name`, accepting both spellings a job may use (`--batch-size`, `--batch_size`)."""
    dashed, underscored = f"--{name.replace('_', '-')}", f"--{name.replace('-', '_')}"
    flags = [dashed] if dashed == underscored else [dashed, underscored]
    parser.add_argument(*flags, dest=name.replace("-", "_"), **kwargs)


def hyperparameters(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None
) -> argparse.Namespace:
    """Parse `--name value` arguments, with defaults taken from SM_HPS when it is set.

    SageMaker passes hyperparameters both ways; the command line wins, as it does in a job.
    Names may use `-` or `_`. Unknown names are an error, so a typo in a pipeline definition
    does not go unnoticed.
    """
    raw = os.environ.get("SM_HPS")
    if raw:
        given = {str(k).replace("-", "_"): v for k, v in json.loads(raw).items()}
        actions = {action.dest: action for action in parser._actions if action.dest != "help"}
        unknown = sorted(set(given) - set(actions))
        if unknown:
            parser.error(f"unknown hyperparameters in SM_HPS: {unknown}; known: {sorted(actions)}")
        defaults = {}
        for dest, value in given.items():
            kind = actions[dest].type
            try:
                defaults[dest] = kind(value) if callable(kind) else value
            except (TypeError, ValueError):
                parser.error(f"hyperparameter {dest}={value!r} in SM_HPS is not a valid {kind}")
        parser.set_defaults(**defaults)
    return parser.parse_args(argv)


def export(
    model_dir: Path,
    *,
    weights_name: str,
    checkpoint: Mapping[str, Any],
    source_dir: Path,
    shared: Iterable[Path] = (),
) -> Path:
    """Write the checkpoint to `model_dir/weights_name` and the inference code to `code/`.

    `source_dir` is the model folder (its `*.py` and `requirements.txt` are copied); each
    `shared` folder is copied whole to `code/<folder name>/`. Returns the weights path.
    """
    model_dir.mkdir(parents=True, exist_ok=True)
    weights = model_dir / weights_name
    torch.save(dict(checkpoint), weights)
    code = model_dir / "code"
    code.mkdir(exist_ok=True)
    for pattern in CODE_GLOBS:
        for path in sorted(source_dir.glob(pattern)):
            shutil.copy2(path, code / path.name)
    for folder in shared:
        shutil.copytree(
            folder,
            code / folder.name,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    return weights


def write_metrics(output_data_dir: Path, metrics: Mapping[str, float]) -> Path:
    """`metrics.json` in the job's output folder, for an evaluation step or a quality gate."""
    output_data_dir.mkdir(parents=True, exist_ok=True)
    path = output_data_dir / "metrics.json"
    path.write_text(json.dumps(dict(metrics), indent=2, sort_keys=True) + "\n")
    return path
