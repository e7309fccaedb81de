"""Draw an example model's evaluation set from its held-out split.

    python -m ops.evaluation.held_out iris                  # writes models/iris/evaluation.jsonl
    python -m ops.evaluation.held_out digits --per-class 20

The split is the one the committed weights never trained on: `model.pt` records its seed and
fraction, and the model's own `train.load_split` rebuilds it from the data in the folder. The
first `--per-class` examples of each class, in the split's order, become one request each in the
model's request format (`{"instances": [x]}`) with the class name as the label. The same weights
and data give the same bytes, so the committed file can be checked by drawing it again.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OWN_MODULES = ("model", "train", "inference", "modelkit")
DEFAULT_FILE = "evaluation.jsonl"


@contextmanager
def _model_modules(folder: Path) -> Iterator[tuple[ModuleType, ModuleType]]:
    """The folder's `train` and `model` modules, imported fresh and forgotten afterwards (every
    model folder has its own `model.py`)."""
    saved_path = list(sys.path)
    saved = {n: sys.modules.pop(n) for n in list(sys.modules) if n.split(".")[0] in OWN_MODULES}
    sys.path[:0] = [str(folder), str(folder.parent)]
    try:
        yield importlib.import_module("train"), importlib.import_module("model")
    finally:
        for name in [n for n in sys.modules if n.split(".")[0] in OWN_MODULES]:
            del sys.modules[name]
        sys.modules.update(saved)
        sys.path[:] = saved_path


def _rounded(value: Any) -> Any:
    """Whole numbers as integers, others to 6 digits: short lines, the same text every time."""
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    number = float(value)
    return int(number) if number.is_integer() else round(number, 6)


def draw(folder: Path, *, per_class: int, weights: str = "model.pt") -> list[str]:
    """The evaluation set's lines for the model in `folder`."""
    # Imported here, not at the top: torch costs ~3 CPU-s to import, and a test session that
    # collects this module without drawing a set should not pay for it.
    import torch

    with _model_modules(folder) as (train, model):
        saved = torch.load(folder / weights, map_location="cpu", weights_only=True)
        split = train.load_split(folder / "data", **saved["split"])
        classes = list(model.CLASSES)
    taken: dict[int, int] = {}
    lines = []
    for x, y in zip(split.x_test.tolist(), split.y_test.tolist(), strict=True):
        if taken.get(y, 0) >= per_class:
            continue
        taken[y] = taken.get(y, 0) + 1
        case = {"request": {"instances": [_rounded(x)]}, "labels": [classes[y]]}
        lines.append(json.dumps(case, separators=(",", ":")))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("model", help="an example model's folder name under models/")
    parser.add_argument("--per-class", type=int, default=10, help="requests per class")
    parser.add_argument("--output", type=Path, help=f"default: models/<model>/{DEFAULT_FILE}")
    args = parser.parse_args(argv)
    folder = ROOT / "models" / args.model
    output = args.output or folder / DEFAULT_FILE
    lines = draw(folder, per_class=args.per_class)
    output.write_text("".join(f"{line}\n" for line in lines))
    print(f"{output}: {len(lines)} requests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
