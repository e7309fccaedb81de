"""Serving and training image URIs from the sagemaker SDK's offline tables: no network.

The SDK's tables ship inside its package, so the same version gives the same answer on any
machine; answers are remembered in the synth memo (`stacks.memo`), keyed by that version and the
look-up's arguments, so a synth that changes nothing does not import the SDK.
"""

from __future__ import annotations

import functools

from stacks.memo import JsonMemo
from stacks.sdk import sdk_version, without_telemetry


class ImageLookupError(ValueError):
    """The SDK knows no image for this framework version, Python version or region."""


@functools.cache
def sdk_image_uri(
    pytorch_version: str,
    python_version: str,
    region: str,
    instance_type: str,
    scope: str = "inference",
) -> str:
    """Ask the SDK (imported here, on first use only: the import takes about two seconds)."""
    without_telemetry()
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


@functools.cache
def sdk_monitor_image_uri(region: str) -> str:
    """The SDK's table of Model Monitor analyzer images: one ECR account per region."""
    without_telemetry()
    from sagemaker.core import image_uris

    try:
        uri: str = image_uris.retrieve(framework="model-monitor", region=region)
    except (ValueError, KeyError) as error:
        raise ImageLookupError(str(error).strip()) from error
    return uri


class ImageResolver:
    """Looks up PyTorch image URIs, once per distinct question, remembered in `memo`."""

    def __init__(self, memo: JsonMemo) -> None:
        self.memo = memo
        self.sdk_version = sdk_version()

    def inference_image(
        self, pytorch_version: str, python_version: str, region: str, instance_type: str
    ) -> str:
        """The SageMaker PyTorch inference image for these settings (CPU or GPU by instance)."""
        key = (self.sdk_version, pytorch_version, python_version, region, instance_type)
        return self.memo.remember(
            "|".join(key),
            lambda: sdk_image_uri(pytorch_version, python_version, region, instance_type),
        )

    def monitor_image(self, region: str) -> str:
        """Model Monitor's analyzer image (the prebuilt data-quality container) in `region`."""
        key = (self.sdk_version, "model-monitor", region)
        return self.memo.remember("|".join(key), lambda: sdk_monitor_image_uri(region))

    def training_image(
        self, pytorch_version: str, python_version: str, region: str, instance_type: str
    ) -> str:
        """The SageMaker PyTorch training image for these settings (CPU or GPU by instance)."""
        key = (self.sdk_version, "training", pytorch_version, python_version, region, instance_type)
        return self.memo.remember(
            "|".join(key),
            lambda: sdk_image_uri(
                pytorch_version, python_version, region, instance_type, "training"
            ),
        )
