"""Writes model.pth for the trend model: `python tests/models/trend/make_weights.py`.

Seeded data, one thread, a fixed number of full-batch steps: the same torch build writes the same
bytes every time (a test checks it). The task is deliberately easy; the model exists to be served.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from inference import SEQUENCE_LENGTH, TrendNet  # type: ignore[import-not-found]  # noqa: E402

SEED = 15
STEPS = 150


def sequences(count: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random walks with a drift up (label 1) or down (label 0)."""
    labels = torch.randint(0, 2, (count,), generator=generator)
    drift = (labels.float() * 2 - 1).unsqueeze(1) * 0.5
    steps = torch.randn(count, SEQUENCE_LENGTH, generator=generator) * 0.5 + drift
    return steps.cumsum(dim=1), labels


def train() -> TrendNet:
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(SEED)
    inputs, labels = sequences(256, generator)
    model = TrendNet()
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(STEPS):
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(inputs), labels)
        loss.backward()  # type: ignore[no-untyped-call]
        optimiser.step()
    return model


def main(out: Path = HERE / "model.pth") -> None:
    model = train()
    # Rounded, so float noise of another CPU's kernels cannot change the committed bytes.
    state = {name: value.detach().round(decimals=4) for name, value in model.state_dict().items()}
    torch.save(state, out)
    held_out, truth = sequences(200, torch.Generator().manual_seed(SEED + 1))
    with torch.no_grad():
        accuracy = (model(held_out).argmax(dim=1) == truth).float().mean().item()
    print(f"wrote {out} (held-out accuracy {accuracy:.3f})")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "model.pth")
