"""Helpers for the model tests: import a model's modules fresh, from a folder of one's choosing.

Every model has its own `model.py` and all import `modelkit`, so the modules are imported with
a clean slate (and sys.path and sys.modules restored afterwards): a module from one model, or
from the source tree, can never stand in for another's.
"""

from __future__ import annotations

import importlib
import json
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
