"""The template metadata contract: what a model stack records under its template's `Metadata`.

A model stack writes three entries; the tools that read a cloud assembly or a deployed template
(summary, PR diff, verifier, local serving, retire) read them back through this module and
nowhere else, so a key or a field is named once. No CDK import: `ops` may import this module
(and `stacks.templates`) without pulling in construct code.

- `ModelBundle`: the model, its environment, and the model.tar.gz the stack deploys (sha256 and
  size). The sha256 is also the CDK asset hash, so `cdk.out/asset.<sha256>.tar.gz` is the archive.
- `ModelArtifact`: where the endpoint's own model comes from (config `artifact.source`).
- `ModelVariants`: each variant's kind (production or shadow), model and archive digest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

BUNDLE = "ModelBundle"
ARTIFACT = "ModelArtifact"
VARIANTS = "ModelVariants"


@dataclass(frozen=True)
class BundleRecord:
    """`Metadata.ModelBundle`: which model and environment a stack serves, and its archive."""

    model: str
    environment: str
    sha256: str
    bytes: int

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "environment": self.environment,
            "sha256": self.sha256,
            "bytes": self.bytes,
        }


def stack_metadata(
    *,
    bundle: BundleRecord,
    artifact: Mapping[str, str],
    variants: Mapping[str, Mapping[str, str]],
) -> dict[str, Any]:
    """The template `Metadata` a model stack writes (key order is part of the template bytes)."""
    return {
        BUNDLE: bundle.to_json(),
        ARTIFACT: dict(artifact),
        VARIANTS: {name: dict(served) for name, served in variants.items()},
    }


def _entry(template: Any, key: str) -> Mapping[str, Any]:
    metadata = template.get("Metadata") if isinstance(template, Mapping) else None
    value = metadata.get(key) if isinstance(metadata, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def read_bundle(template: Any) -> BundleRecord | None:
    """The `ModelBundle` entry of a template (a dict), or None when it has none or it is malformed.

    Accepts anything: a template read back from CloudFormation may be a string or carry
    other stacks' metadata.
    """
    entry = _entry(template, BUNDLE)
    model, environment = entry.get("model"), entry.get("environment")
    sha256, size = entry.get("sha256"), entry.get("bytes")
    if not (isinstance(model, str) and isinstance(environment, str) and isinstance(sha256, str)):
        return None
    return BundleRecord(
        model=model,
        environment=environment,
        sha256=sha256,
        bytes=size if isinstance(size, int) and not isinstance(size, bool) else 0,
    )


def read_artifact(template: Any) -> dict[str, str]:
    """The `ModelArtifact` entry: source plus its version or digest ({} when absent)."""
    return {k: str(v) for k, v in _entry(template, ARTIFACT).items()}


def read_variants(template: Any) -> dict[str, dict[str, str]]:
    """The `ModelVariants` entry: variant name -> kind, model and sha256 ({} when absent)."""
    return {
        name: {k: str(v) for k, v in served.items()}
        for name, served in _entry(template, VARIANTS).items()
        if isinstance(served, Mapping)
    }
