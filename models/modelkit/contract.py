"""SageMaker's training contract: hyperparameters, data channels and output folders.

Inside a training job SageMaker sets `SM_MODEL_DIR`, `SM_CHANNEL_<NAME>`, `SM_OUTPUT_DATA_DIR`
and `SM_HPS` (JSON) and also passes each hyperparameter as `--name value`. Locally the same
script runs with none of those set, using the defaults given here.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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


def hyperparameters(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None
) -> argparse.Namespace:
    """Parse `--name value` arguments, with defaults taken from SM_HPS when it is set.

    SageMaker passes hyperparameters both ways; the command line wins, as it does in a job.
    Unknown names are an error, so a typo in a pipeline definition does not go unnoticed.
    """
    raw = os.environ.get("SM_HPS")
    if raw:
        given: dict[str, Any] = json.loads(raw)
        known = {action.dest for action in parser._actions}
        unknown = sorted(set(given) - known)
        if unknown:
            parser.error(f"unknown hyperparameters in SM_HPS: {unknown}")
        defaults = {}
        for action in parser._actions:
            if action.dest in given:
                value = given[action.dest]
                defaults[action.dest] = action.type(value) if action.type else value
        parser.set_defaults(**defaults)
    return parser.parse_args(argv)
