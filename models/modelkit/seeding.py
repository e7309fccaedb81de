"""Make a run repeatable: the same seed gives the same weights."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch, make torch deterministic, and return a seeded generator.

    Also one intra-op thread: the example models are far too small to gain from more (on a busy
    2-core machine threads make training several times slower), and results then do not depend
    on how many cores the machine has.
    """
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.set_num_threads(1)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator
