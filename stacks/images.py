"""Serving image URIs from the sagemaker SDK's offline tables: no network, no ECR ids here.

Importing the SDK costs about two seconds of every synth, so answers are remembered in a small
JSON file next to the bundle cache, keyed by the installed sagemaker-core version and the
look-up's arguments. The SDK's tables ship inside that package, so the same version gives the
same answer on any machine: the memo changes no template, it only skips the import.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import json
import os
import tempfile
from pathlib import Path

SDK_PACKAGE = "sagemaker-core"  # where the v3 SDK keeps image_uris and its tables
MEMO_FILE = "image-uris.json"


class ImageLookupError(ValueError):
    """The SDK knows no image for this framework version, Python version or region."""


class ImageResolver:
    """Looks up inference image URIs, once per distinct question, remembered on disk.

    Args:
        memo_dir: folder for the memo file; None keeps answers in memory only.
    """

    def __init__(self, memo_dir: Path | None = None) -> None:
        self.memo_path = memo_dir / MEMO_FILE if memo_dir is not None else None
        self.sdk_version = _sdk_version()
        self.memo: dict[str, str] = self._load()
        self.changed = False

    def inference_image(
        self, pytorch_version: str, python_version: str, region: str, instance_type: str
    ) -> str:
        """The SageMaker PyTorch inference image for these settings (CPU or GPU by instance)."""
        key = "|".join((self.sdk_version, pytorch_version, python_version, region, instance_type))
        uri = self.memo.get(key)
        if uri is None:
            uri = inference_image(pytorch_version, python_version, region, instance_type)
            self.memo[key] = uri
            self.changed = True
        return uri

    def training_image(
        self, pytorch_version: str, python_version: str, region: str, instance_type: str
    ) -> str:
        """The SageMaker PyTorch training image for these settings (CPU or GPU by instance)."""
        key = "|".join(
            (self.sdk_version, "training", pytorch_version, python_version, region, instance_type)
        )
        uri = self.memo.get(key)
        if uri is None:
            uri = inference_image(
                pytorch_version, python_version, region, instance_type, "training"
            )
            self.memo[key] = uri
            self.changed = True
        return uri

    def save(self) -> None:
        """Write the memo back if it learned something; losing it only costs time."""
        if not self.changed or self.memo_path is None:
            return
        with contextlib.suppress(OSError):
            self.memo_path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(
                prefix=f".{MEMO_FILE}.", suffix=".partial", dir=self.memo_path.parent
            )
            try:
                with os.fdopen(fd, "w") as handle:
                    json.dump(self.memo, handle, indent=1, sort_keys=True)
                Path(tmp).replace(self.memo_path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    Path(tmp).unlink()
        self.changed = False

    def _load(self) -> dict[str, str]:
        if self.memo_path is None:
            return {}
        try:
            loaded = json.loads(self.memo_path.read_bytes())
        except (OSError, ValueError):
            return {}
        if not isinstance(loaded, dict):
            return {}
        return {str(k): str(v) for k, v in loaded.items() if isinstance(v, str)}


@functools.cache
def inference_image(
    pytorch_version: str,
    python_version: str,
    region: str,
    instance_type: str,
    scope: str = "inference",
) -> str:
    """Ask the SDK (imported here, on first use only: the import takes about two seconds)."""
    os.environ.setdefault("SAGEMAKER_TELEMETRY_OPT_OUT", "true")
    from sagemaker.core import image_uris

    try:
        uri: str = image_uris.retrieve(
            framework="pytorch",
            region=region,
            version=pytorch_version,
            py_version=python_version,
            instance_type=instance_type,
            image_scope=scope,
        )
    except (ValueError, KeyError) as error:
        raise ImageLookupError(str(error).strip()) from error
    return uri


def _sdk_version() -> str:
    try:
        return f"{SDK_PACKAGE}=={importlib.metadata.version(SDK_PACKAGE)}"
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a pinned dependency
        return f"{SDK_PACKAGE}==unknown"
