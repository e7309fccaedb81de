"""Serving image URIs from the sagemaker SDK's offline tables: no network, no ECR ids here."""

from __future__ import annotations

import functools
import os


class ImageLookupError(ValueError):
    """The SDK knows no image for this framework version, Python version or region."""


@functools.cache
def inference_image(
    pytorch_version: str, python_version: str, region: str, instance_type: str
) -> str:
    """The SageMaker PyTorch inference image for these settings (CPU or GPU by instance type)."""
    os.environ.setdefault("SAGEMAKER_TELEMETRY_OPT_OUT", "true")
    from sagemaker.core import image_uris  # imported here: it takes about a second

    try:
        uri: str = image_uris.retrieve(
            framework="pytorch",
            region=region,
            version=pytorch_version,
            py_version=python_version,
            instance_type=instance_type,
            image_scope="inference",
        )
    except (ValueError, KeyError) as error:
        raise ImageLookupError(str(error).strip()) from error
    return uri
