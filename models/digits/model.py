"""The digits network: an 8x8 grey-level image in, ten digit scores out."""

from __future__ import annotations

import torch
from torch import nn

SIDE = 8  # images are SIDE x SIDE
MAX_PIXEL = 16.0  # each pixel counts the set pixels of a 4x4 block of the 32x32 bitmap: 0..16
CLASSES = tuple(str(digit) for digit in range(10))


class DigitsNet(nn.Module):
    """Two 3x3 convolutions with max-pooling (8x8 -> 4x4 -> 2x2), then a linear classifier.

    Takes raw pixel counts (0..16) of shape (n, 8, 8); the scaling is part of the model.
    """

    def __init__(self, channels: int = 8) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(channels, 2 * channels, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Linear(2 * channels * (SIDE // 4) ** 2, len(CLASSES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(-1, 1, SIDE, SIDE) / MAX_PIXEL
        return self.classifier(self.features(x).flatten(1))
