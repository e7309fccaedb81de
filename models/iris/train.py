"""Train the iris classifier the SageMaker way; runs the same locally and in a training job.

    python models/iris/train.py --epochs 200             # local, writes runs/iris/model/
    torchrun --nproc-per-node 2 models/iris/train.py     # DDP over gloo (torch_distributed)

Reads `SM_CHANNEL_TRAIN` (a folder with iris.csv), writes weights and the inference code to
`SM_MODEL_DIR`, so the job's own model.tar.gz is directly deployable.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # modelkit sits beside the model folders
    sys.path.insert(0, str(HERE.parent))
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from model import IrisNet  # noqa: E402
from modelkit import contract  # noqa: E402
from modelkit.data import read_csv, standardise, stratified_split  # noqa: E402
from modelkit.metrics import accuracy, metric_line  # noqa: E402
from modelkit.seeding import seed_everything  # noqa: E402
from modelkit.training import fit, init_distributed  # noqa: E402

WEIGHTS = "model.pt"


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--lr", type=float, default=0.02)
    parser.add_argument("--batch-size", dest="batch_size", type=int, default=16)
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--test-fraction", dest="test_fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=7)
    args = contract.hyperparameters(parser, argv)
    where = contract.paths({"train": HERE / "data"}, HERE.parents[1] / "runs" / "iris" / "model")

    seed_everything(args.seed)
    x, y = read_csv(where.channels["train"] / "iris.csv")
    split = stratified_split(x, y, test_fraction=args.test_fraction, seed=args.seed)
    model = IrisNet(hidden=args.hidden)
    mean, std = standardise(split.x_train)
    model.mean.copy_(mean)
    model.std.copy_(std)
    fit(
        model,
        split.x_train,
        split.y_train,
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        seed=args.seed,
        x_val=split.x_test,
        y_val=split.y_test,
    )

    model.eval()
    with torch.no_grad():
        score = accuracy(model(split.x_test), split.y_test)
    rank, _ = init_distributed()
    if rank == 0:
        print(metric_line("test_accuracy", score), flush=True)
        save(model, where.model_dir, hidden=args.hidden)
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    return score


def save(model: IrisNet, model_dir: Path, *, hidden: int) -> None:
    """Weights at the top, inference code under code/: SageMaker's PyTorch layout."""
    model_dir.mkdir(parents=True, exist_ok=True)
    torch.save({"hidden": hidden, "state_dict": model.state_dict()}, model_dir / WEIGHTS)
    code = model_dir / "code"
    code.mkdir(exist_ok=True)
    for name in ("inference.py", "model.py", "requirements.txt"):
        shutil.copy2(HERE / name, code / name)
    shutil.copytree(
        HERE.parent / "modelkit",
        code / "modelkit",
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__"),
    )


if __name__ == "__main__":
    main()
