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

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from model import SIDE, DigitsNet  # noqa: E402
from modelkit import contract  # noqa: E402
from modelkit.data import Split, read_csv, stratified_split  # noqa: E402
from modelkit.metrics import accuracy, metric_line  # noqa: E402
from modelkit.seeding import seed_everything  # noqa: E402
from modelkit.training import fit, init_distributed, state_digest  # noqa: E402

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
    saved = torch.load(weights, map_location="cpu", weights_only=True)
    model = DigitsNet(channels=int(saved["channels"]))
    model.load_state_dict(saved["state_dict"])
    split = load_split(data_dir, **saved["split"])
    with torch.no_grad():
        return accuracy(model.eval()(split.x_test), split.y_test)


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = contract.hyperparameters(parser(), argv)
    where = contract.paths({"train": HERE / "data"}, HERE.parents[1] / "runs" / NAME / "model")
    split = load_split(where.channels["train"], test_fraction=args.test_fraction, seed=args.seed)
    model = train(args, split)
    with torch.no_grad():
        metrics = {
            "train_accuracy": accuracy(model(split.x_train), split.y_train),
            "test_accuracy": accuracy(model(split.x_test), split.y_test),
        }
    rank, world = init_distributed()
    # Every rank says which weights it ended with: under DDP they must all agree.
    print(f"rank {rank}/{world}: weights sha256 {state_digest(model)}", flush=True)
    if rank == 0:
        for name, value in metrics.items():
            print(metric_line(name, value), flush=True)
        contract.export(
            where.model_dir,
            weights_name=WEIGHTS,
            checkpoint=checkpoint(model, args),
            source_dir=HERE,
            shared=[HERE.parent / "modelkit"],
        )
        contract.write_metrics(where.output_data_dir, metrics)
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    return metrics


if __name__ == "__main__":
    main()
