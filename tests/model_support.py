"""Helpers for the model tests: import a model's modules fresh, from a folder of one's choosing,
and run its train.py as a SageMaker training job runs it.

Every model has its own `model.py` and all import `modelkit`, so the modules are imported with
a clean slate (and sys.path and sys.modules restored afterwards): a module from one model, or
from the source tree, can never stand in for another's.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODELS = sorted(path.parent.name for path in (ROOT / "models").glob("*/config.yaml"))
OWN_MODULES = ("inference", "model", "train", "modelkit")


def _own(name: str) -> bool:
    return name.split(".")[0] in OWN_MODULES


@contextmanager
def fresh_imports(folder: Path) -> Iterator[None]:
    """Import from `folder` first; afterwards forget whatever was imported meanwhile."""
    saved_path = list(sys.path)
    saved = {name: sys.modules.pop(name) for name in list(sys.modules) if _own(name)}
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        for name in [name for name in sys.modules if _own(name)]:
            del sys.modules[name]
        sys.modules.update(saved)
        sys.path[:] = saved_path


def load(folder: Path, module: str) -> ModuleType:
    """`module` imported fresh from `folder` (a model folder, or a bundle's code/)."""
    with fresh_imports(folder):
        return importlib.import_module(module)


def example(model: str) -> bytes:
    return (ROOT / "models" / model / "example.json").read_bytes()


def instances(model: str) -> list[Any]:
    document = json.loads(example(model))
    return list(document["instances"])


class FakeContext:
    """The part of the inference toolkit's request context that the handlers use."""

    def __init__(self) -> None:
        self.status: tuple[int, str] | None = None

    def set_response_status(self, code: int, phrase: str, idx: int = 0) -> None:
        self.status = (code, phrase)


def run_training(
    model: str, tmp: Path, *args: str, nproc: int = 1, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`train.py` as a SageMaker job runs it: SM_* variables set, outputs under `tmp`."""
    script = str(ROOT / "models" / model / "train.py")
    command = [sys.executable, script, *args]
    if nproc > 1:
        torchrun = Path(sys.executable).with_name("torchrun")
        command = [str(torchrun), "--standalone", f"--nproc-per-node={nproc}", script, *args]
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SM_")},
        "SM_MODEL_DIR": str(tmp / "model"),
        "SM_OUTPUT_DATA_DIR": str(tmp / "output"),
        "SM_CHANNEL_TRAIN": str(ROOT / "models" / model / "data"),
        **(env or {}),
    }
    result = subprocess.run(
        command, env=environment, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result


def rank_digests(stdout: str) -> dict[int, str]:
    """Each rank's weights digest, as train.py prints it when it finishes."""
    return {
        int(rank): digest
        for rank, digest in re.findall(
            r"^rank (\d+)/\d+: weights sha256 ([0-9a-f]{64})$", stdout, re.M
        )
    }


# A model written the way the SageMaker PyTorch documentation shows (its own handlers, the
# toolkit's default output_fn, no modelkit): copied into a project's models/ as it is.
SDK_MODEL = ROOT / "tests" / "models" / "trend"


def project_with_sdk_model(target: Path) -> Path:
    """`configs/` and the SDK-style model folder, unchanged, as a project's only model."""
    shutil.copytree(ROOT / "configs", target / "configs", ignore=shutil.ignore_patterns("schema"))
    shutil.copytree(
        SDK_MODEL, target / "models" / SDK_MODEL.name, ignore=shutil.ignore_patterns("__pycache__")
    )
    return target
