"""The training code archive's layout: a model folder's code beside the shared folders.

`code/<model>/` holds the model folder's code files and `code/<name>/` each shared folder, as
they sit under models/, so train.py imports the same way in a SageMaker training job as on a
laptop. The stacks upload the archive for the training pipeline; `make train` records its
sha256 on the local run, so a run names the same code whether it ran here or in a job.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bundler.layout import BundleSpec


def training_code_spec(
    *, models_dir: Path, folder: str, code: Sequence[str], shared: Sequence[str]
) -> BundleSpec:
    """The archive of model folder `folder` under `models_dir`.

    Args:
        code: the model's `artifact.code` globs (relative to its folder).
        shared: the model's `artifact.shared` folder names (under `models_dir`).
    """
    return BundleSpec(
        model_dir=models_dir,
        weights=(),
        code=tuple(f"{folder}/{pattern}" for pattern in code),
        shared=tuple(models_dir / name for name in shared),
    )
