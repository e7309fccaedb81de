"""Small tabular data sets: CSV loading, a seeded stratified split, standardisation."""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass(frozen=True)
class Split:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def read_csv(path: Path, *, header: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Features (float32) and integer labels from a CSV whose last column is the label."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as handle:
        rows = list(csv.reader(handle))
    if header:
        rows = rows[1:]
    if not rows:
        raise ValueError(f"{path}: no rows")
    features = torch.tensor([[float(v) for v in row[:-1]] for row in rows], dtype=torch.float32)
    labels = torch.tensor([int(float(row[-1])) for row in rows], dtype=torch.long)
    return features, labels


def stratified_split(x: torch.Tensor, y: torch.Tensor, *, test_fraction: float, seed: int) -> Split:
    """Hold out `test_fraction` of every class, chosen by a seeded permutation."""
    generator = torch.Generator().manual_seed(seed)
    train_idx, test_idx = [], []
    for label in torch.unique(y).tolist():
        idx = (y == label).nonzero(as_tuple=True)[0]
        idx = idx[torch.randperm(len(idx), generator=generator)]
        cut = max(1, round(len(idx) * test_fraction))
        test_idx.append(idx[:cut])
        train_idx.append(idx[cut:])
    train = torch.cat(train_idx).sort().values
    test = torch.cat(test_idx).sort().values
    return Split(x[train], y[train], x[test], y[test])


def standardise(x_train: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-feature mean and std of the training split (std of a constant feature is 1)."""
    mean = x_train.mean(dim=0)
    std = x_train.std(dim=0)
    std = torch.where(std > 0, std, torch.ones_like(std))
    return mean, std
