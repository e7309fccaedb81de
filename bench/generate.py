"""`python -m bench.generate --models 20 --out /tmp/p20`: a project of N models for the benchmarks.

The folder holds `configs/` (this repository's environments), the shared library folders of
`models/` and N model folders `model000`, `model001`, ... copied in turn from the example models
(iris, digits), each with its own weights: the example's weights plus seeded noise, so every
model has its own bundle (its own sha256, its own S3 object, its own model server) and still
answers its example request with real predictions. The same command gives the same files.

Use it with the commands that take a project root:

    python -m ops deploy-local --project-root /tmp/p20
    npx cdk synth -c projectRoot=/tmp/p50 --output /tmp/p50/cdk.out
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ("iris", "digits")
WEIGHTS = "model.pt"


def nudge(weights: Path, *, seed: int, scale: float = 0.05) -> None:
    """New weights of the same shape: every float tensor plus `scale` of its spread as seeded
    noise (a retrained model's stand-in: predictions mostly agree, the bytes all differ)."""
    import torch  # only the generator needs it; the rest of the benchmark starts faster

    saved = torch.load(weights, map_location="cpu", weights_only=True)
    generator = torch.Generator().manual_seed(seed)
    state = {
        name: value
        + scale * value.std().nan_to_num() * torch.randn(value.shape, generator=generator)
        if value.is_floating_point() and value.numel() > 1
        else value
        for name, value in saved["state_dict"].items()
    }
    torch.save({**saved, "state_dict": state}, weights)


def model_name(index: int) -> str:
    return f"model{index:03d}"


def generate(*, models: int, out: Path, source: Path = ROOT) -> list[str]:
    """Write the project to `out` (replacing it); returns the model names."""
    if models < 1:
        raise ValueError("--models must be at least 1")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    shutil.copytree(source / "configs", out / "configs", ignore=ignore)
    for folder in sorted((source / "models").iterdir()):
        if folder.is_dir() and not (folder / "config.yaml").is_file():
            shutil.copytree(folder, out / "models" / folder.name, ignore=ignore)
    names = []
    for index in range(models):
        name = model_name(index)
        target = out / "models" / name
        shutil.copytree(source / "models" / EXAMPLES[index % len(EXAMPLES)], target, ignore=ignore)
        nudge(target / WEIGHTS, seed=1000 + index)
        names.append(name)
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__)
    parser.add_argument("--models", type=int, required=True, help="how many models")
    parser.add_argument("--out", type=Path, required=True, help="the project folder (replaced)")
    args = parser.parse_args(argv)
    try:
        names = generate(models=args.models, out=args.out)
    except ValueError as error:
        print(f"bench.generate: {error}", file=sys.stderr)
        return 2
    print(f"{args.out}: {len(names)} models ({names[0]} .. {names[-1]}), configs/ of {ROOT.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
