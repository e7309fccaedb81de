"""Train the digits CNN the SageMaker way; runs the same locally and in a training job.

    python models/digits/train.py                              # writes runs/digits/model/
    torchrun --nproc-per-node 2 models/digits/train.py         # DDP over gloo (torch_distributed)
    SM_MODEL_DIR=/tmp/out python models/digits/train.py --epochs 10

Reads `SM_CHANNEL_TRAIN` (a folder with digits.csv.gz: 64 pixel columns, then the label, no
header), holds out a seeded stratified test split, writes the weights and the inference code to
`SM_MODEL_DIR` (so the job's own model.tar.gz is directly deployable) and `metrics.json` to
`SM_OUTPUT_DATA_DIR`. Metrics are printed as `metric test_accuracy=0.980556;` lines for
MetricDefinitions.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for _path in (HERE.parent, HERE):  # modelkit beside the model folders; the model's own modules
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from model import SIDE, DigitsNet  # noqa: E402
from modelkit import contract, job  # noqa: E402
from modelkit.data import Split, read_csv, stratified_split  # noqa: E402
from modelkit.seeding import seed_everything  # noqa: E402
from modelkit.training import fit  # noqa: E402

NAME = "digits"
WEIGHTS = "model.pt"
DATA = "digits.csv.gz"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    contract.option(p, "epochs", type=int, default=40)
    contract.option(p, "lr", type=float, default=0.01)
    contract.option(p, "weight-decay", type=float, default=0.0)
    contract.option(p, "batch-size", type=int, default=32)
    contract.option(p, "channels", type=int, default=8)
    contract.option(p, "test-fraction", type=float, default=0.2)
    contract.option(p, "seed", type=int, default=7)
    return p


def load_split(data_dir: Path, *, test_fraction: float, seed: int) -> Split:
    x, y = read_csv(data_dir / DATA, header=False)
    x = x.reshape(-1, SIDE, SIDE)
    return stratified_split(x, y, test_fraction=test_fraction, seed=seed)


def train(args: argparse.Namespace, split: Split) -> DigitsNet:
    """A trained network (the same on every rank under DDP)."""
    seed_everything(args.seed)
    model = DigitsNet(channels=args.channels)
    fit(
        model,
        split.x_train,
        split.y_train,
        epochs=args.epochs,
        lr=args.lr,
        weight_decay=args.weight_decay,
        batch_size=args.batch_size,
        seed=args.seed,
    )
    return model.eval()


def checkpoint(model: DigitsNet, args: argparse.Namespace) -> dict[str, object]:
    """What model.pt holds: the architecture's size, the weights, and which split was held out."""
    return {
        "channels": args.channels,
        "state_dict": model.state_dict(),
        "split": {"seed": args.seed, "test_fraction": args.test_fraction},
    }


def held_out_accuracy(weights: Path, data_dir: Path) -> float:
    """Accuracy of saved weights on the test split recorded in them (the quality gate's score)."""
    return job.held_out_accuracy(
        weights,
        data_dir,
        load_split=load_split,
        network=lambda saved: DigitsNet(channels=int(saved["channels"])),
    )


def main(argv: list[str] | None = None) -> dict[str, float]:
    return job.run(
        name=NAME,
        source_dir=HERE,
        weights=WEIGHTS,
        args=contract.hyperparameters(parser(), argv),
        load_split=load_split,
        train=train,
        checkpoint=checkpoint,
    )


if __name__ == "__main__":
    main()
