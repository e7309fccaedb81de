"""Write baseline.csv.gz, the drift baseline's data: the training split's 64 pixels, named.

    python models/digits/data/make_baseline.py

digits.csv.gz has no header and ends with the label, as train.py reads it; Model Monitor's
baseline needs the endpoint's input features by name, in the order a request lists them. A
request's image is 8 rows of 8 pixel counts (or 64 numbers row by row), so pixel_<row><col>
flattens it row by row. The rows are train.py's own training split (its default seed and test
fraction), so the baseline is the data the model learned from. The output is byte-reproducible
(gzip without a timestamp).
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODEL = HERE.parent
for _path in (MODEL.parent, MODEL):  # modelkit beside the model folders; the model's modules
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

# mypy sees this file from the repository root, where the model folder is not on its path.
from train import load_split, parser  # type: ignore[import-not-found]  # noqa: E402

OUTPUT = HERE / "baseline.csv.gz"
SIDE = 8


def header() -> list[str]:
    return [f"pixel_{row}{col}" for row in range(SIDE) for col in range(SIDE)]


def render() -> bytes:
    defaults = parser().parse_args([])
    split = load_split(HERE, test_fraction=defaults.test_fraction, seed=defaults.seed)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header())
    for image in split.x_train.reshape(len(split.x_train), -1).tolist():
        writer.writerow(int(value) for value in image)
    return gzip.compress(text.getvalue().encode("utf-8"), compresslevel=9, mtime=0)


if __name__ == "__main__":
    OUTPUT.write_bytes(render())
    print(f"wrote {OUTPUT.relative_to(MODEL.parent.parent)}")
