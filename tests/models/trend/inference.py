"""Inference handlers written the way the SageMaker Python SDK documents them for PyTorch.

`model_fn`, `input_fn` and `predict_fn` are this model's own; there is no `output_fn`, so the
inference toolkit's default one answers: the probabilities as a plain JSON list, one
`[falling, rising]` pair per sequence. No shared library, no response envelope: the model is
here to show that a model written from the SDK's documentation deploys and verifies unchanged.
"""

from __future__ import annotations

import json
import os

import torch
from torch import nn

SEQUENCE_LENGTH = 12


class TrendNet(nn.Module):
    """A one-layer GRU over a sequence, then a linear layer: falling (0) or rising (1)."""

    def __init__(self, hidden: int = 6) -> None:
        super().__init__()
        self.gru = nn.GRU(input_size=1, hidden_size=hidden, batch_first=True)
        self.head = nn.Linear(hidden, 2)

    def forward(self, sequences: torch.Tensor) -> torch.Tensor:
        _, last = self.gru(sequences.unsqueeze(-1))
        return self.head(last[-1])  # type: ignore[no-any-return]


def model_fn(model_dir: str) -> TrendNet:
    model = TrendNet()
    with open(os.path.join(model_dir, "model.pth"), "rb") as handle:  # noqa: PTH118, PTH123 - as the SDK documents it
        model.load_state_dict(torch.load(handle, weights_only=True))
    return model.eval()


def input_fn(request_body: bytes | str, request_content_type: str) -> torch.Tensor:
    if request_content_type != "application/json":
        raise ValueError(f"unsupported content type {request_content_type}")
    data = torch.tensor(json.loads(request_body), dtype=torch.float32)
    if data.dim() != 2 or data.shape[1] != SEQUENCE_LENGTH:
        raise ValueError(f"expected a list of sequences of {SEQUENCE_LENGTH} numbers")
    return data


def predict_fn(input_data: torch.Tensor, model: TrendNet) -> torch.Tensor:
    with torch.no_grad():
        return torch.softmax(model(input_data), dim=1)
