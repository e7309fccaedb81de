"""The sagemaker SDK as synth uses it: imported late, without telemetry, and versioned.

Importing the SDK costs seconds, so its answers (image URIs, pipeline definitions) are
remembered on disk (`stacks.memo`); its version is part of every memo key, since its offline
tables and serializers ship inside the package and change only with it.
"""

from __future__ import annotations

import importlib.metadata
import os

SDK_PACKAGE = "sagemaker-core"  # where the v3 SDK keeps image_uris, its tables and its shapes


def sdk_version() -> str:
    """`sagemaker-core==<version>` of the installed SDK."""
    try:
        return f"{SDK_PACKAGE}=={importlib.metadata.version(SDK_PACKAGE)}"
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a pinned dependency
        return f"{SDK_PACKAGE}==unknown"


def without_telemetry() -> None:
    """Keep the SDK from reporting usage; call before importing it (synth never reaches out)."""
    os.environ.setdefault("SAGEMAKER_TELEMETRY_OPT_OUT", "true")
