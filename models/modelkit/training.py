"""The training loop every example model uses, on one process or many (DDP over gloo)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

from modelkit.metrics import accuracy, metric_line


def init_distributed() -> tuple[int, int]:
    """Join the process group that torchrun (or SageMaker's torch_distributed) set up.

    Returns (rank, world size); (0, 1) when the script runs as a single process.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="gloo")
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def fit(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    seed: int,
    weight_decay: float = 0.0,
    log: Callable[[str], None] = print,
    x_val: torch.Tensor | None = None,
    y_val: torch.Tensor | None = None,
) -> list[float]:
    """Train with AdamW and cross-entropy; return the mean training loss of each epoch.

    Under DDP each rank trains on its shard and gradients are averaged, so every rank ends
    with the same weights. Only rank 0 logs.
    """
    rank, world = init_distributed()
    dataset = TensorDataset(x, y)
    sampler = (
        DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True, seed=seed)
        if world > 1
        else None
    )
    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=sampler is None,
        sampler=sampler,
        generator=generator if sampler is None else None,
    )
    trained: nn.Module = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    optimiser = torch.optim.AdamW(trained.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    history = []
    for epoch in range(epochs):
        if sampler is not None:
            sampler.set_epoch(epoch)
        trained.train()
        total, count = 0.0, 0
        for xb, yb in loader:
            optimiser.zero_grad()
            loss = loss_fn(trained(xb), yb)
            loss.backward()
            optimiser.step()
            total += float(loss.item()) * len(yb)
            count += len(yb)
        mean_loss = total / max(count, 1)
        if world > 1:
            summed = torch.tensor([total, float(count)])
            dist.all_reduce(summed)
            mean_loss = float(summed[0] / summed[1])
        history.append(mean_loss)
        if rank == 0:
            line = metric_line("train_loss", mean_loss, epoch)
            if x_val is not None and y_val is not None:
                model.eval()
                with torch.no_grad():
                    line += " " + metric_line(
                        "validation_accuracy", accuracy(model(x_val), y_val)
                    ).removeprefix("metric ")
            log(line)
    return history


def state_digest(model: nn.Module) -> str:
    """sha256 over the model's parameters and buffers: equal digests mean equal weights."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def rank_digests(model: nn.Module) -> list[str]:
    """Every rank's `state_digest`, by rank, on every rank (one process: its own only).

    All ranks must call it (it is a collective under DDP)."""
    own = state_digest(model)
    if not dist.is_initialized():
        return [own]
    gathered: list[object] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, own)
    return [str(digest) for digest in gathered]
