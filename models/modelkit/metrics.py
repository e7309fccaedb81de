"""Metrics, and the one line format that SageMaker's MetricDefinitions regexes read."""

from __future__ import annotations

import torch


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    if len(labels) == 0:
        return 0.0
    return float((logits.argmax(dim=1) == labels).float().mean().item())


def metric_line(name: str, value: float, epoch: int | None = None) -> str:
    """`metric name=value;` lines; the regex for `name` is `name=([0-9.eE+-]+);`."""
    where = f" epoch={epoch};" if epoch is not None else ""
    return f"metric{where} {name}={value:.6f};"


def metric_regex(name: str) -> str:
    return f"{name}=([0-9.eE+-]+);"
