"""What a model stack records in its template's `Metadata`, read from its config.

`stacks.metadata` owns the keys and the shape; this module fills them in for one deployment:
the bundle, where the endpoint's own model comes from, and what each variant serves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bundler import Bundle
from configs.artifact import Artifact
from configs.loader import Deployment
from configs.serving import VariantSource
from stacks.metadata import BundleRecord, MonitoringRecord, stack_metadata


def model_stack_metadata(
    *,
    deployment: Deployment,
    bundle: Bundle,
    variant_bundles: Mapping[str, Bundle],
    monitoring: MonitoringRecord | None = None,
) -> dict[str, Any]:
    """The template `Metadata` of one model stack.

    Args:
        deployment: the model and environment.
        bundle: the model's own bundle.
        variant_bundles: bundles of other models that variants serve, by model name.
        monitoring: the drift monitoring record, when monitoring is on.
    """
    spec = deployment.spec
    return stack_metadata(
        bundle=BundleRecord(
            model=deployment.model_name,
            environment=deployment.environment_name,
            sha256=bundle.sha256,
            bytes=bundle.size,
        ),
        artifact=_artifact(spec.artifact, bundle),
        variants={
            name: _served(kind, v, deployment.model_name, bundle, variant_bundles)
            for kind, variants in (
                ("production", spec.production_variants()),
                ("shadow", spec.shadow()),
            )
            for name, v in variants.items()
        },
        monitoring=monitoring,
    )


def _artifact(artifact: Artifact, bundle: Bundle) -> dict[str, str]:
    """What the endpoint serves, for reviewers: the source and the version or digest."""
    if artifact.source == "registry" and artifact.model_package_arn is not None:
        return {"source": "registry", "model_package_arn": artifact.model_package_arn}
    if artifact.source == "s3" and artifact.model_data is not None:
        return {
            "source": "s3",
            "s3_uri": artifact.model_data.s3_uri,
            "sha256": artifact.model_data.sha256,
        }
    if artifact.compression == "none":  # the key of the files under the S3 prefix
        return {"source": "bundle", "compression": "none", "sha256": bundle.sha256}
    return {"source": "bundle", "sha256": bundle.sha256}


def _served(
    kind: str,
    variant: VariantSource,
    own_name: str,
    own: Bundle,
    others: Mapping[str, Bundle],
) -> dict[str, str]:
    """What a variant serves, for reviewers: the model and the archive's sha256."""
    if variant.model_data is not None:
        return {
            "kind": kind,
            "model": variant.model_data.s3_uri,
            "sha256": variant.model_data.sha256,
        }
    if variant.model is not None:
        other = others.get(variant.model)
        return {"kind": kind, "model": variant.model, "sha256": other.sha256 if other else ""}
    return {"kind": kind, "model": own_name, "sha256": own.sha256}
