"""Cross-field rules of Serverless Inference: what a serverless variant cannot be combined with.

From the SageMaker guide, Serverless Inference, feature exclusions: no multiple production
variants, network isolation, VPC or data capture; autoscaling there is concurrency, not
instances. Deployment guardrails exclusions: no rolling updates; traffic shifting (canary,
linear) sizes a fleet of instances that serverless does not have. `configs.rules` lists these
rules in its table, in the order their findings are reported.
"""

from __future__ import annotations

from configs.base import Finding
from configs.sections import ModelSections


def _serverless(spec: ModelSections) -> list[str]:
    """Names of the production variants served by Serverless Inference."""
    return [n for n, v in spec.production_variants().items() if v.serverless is not None]


def serverless_reads_archives(spec: ModelSections) -> list[Finding]:
    # ModelDataSource (uncompressed artifacts) is not supported by serverless endpoints, batch
    # transform or multi-model endpoints (API_ContainerDefinition, ModelDataSource). Models here
    # are single-model and batch transform is not configured, so serverless is the one to refuse.
    serverless = _serverless(spec)
    if not serverless or spec.artifact.compression != "none":
        return []
    return [
        Finding(
            ("artifact", "compression"),
            f"serverless variant {serverless[0]!r} cannot serve uncompressed artifacts "
            "(SageMaker does not support ModelDataSource on serverless endpoints): remove "
            "artifact.compression (gzip) or host the variant on instances",
            "none",
        )
    ]


def serverless_has_no_instances(spec: ModelSections) -> list[Finding]:
    variants = spec.production_variants()
    return [
        Finding(
            ("variants", name, "serverless"),
            "a serverless variant has no instance_type or instance_count; remove them",
            name,
        )
        for name in _serverless(spec)
        if variants[name].instance_type is not None or variants[name].instance_count is not None
    ]


def serverless_serves_alone(spec: ModelSections) -> list[Finding]:
    serverless, variants = _serverless(spec), spec.production_variants()
    if not serverless or (len(variants) == 1 and not spec.shadow_variants):
        return []
    return [
        Finding(
            ("variants", serverless[0], "serverless"),
            "a serverless endpoint serves exactly one production variant and no shadow "
            "variant; drop the other variants or host this one on instances",
            sorted(variants),
        )
    ]


def serverless_without_network_isolation(spec: ModelSections) -> list[Finding]:
    if not _serverless(spec) or not spec.serving.network_isolation:
        return []
    return [
        Finding(
            ("serving", "network_isolation"),
            "Serverless Inference does not support network isolation; set "
            "serving.network_isolation to false for this model (and environment)",
            True,
        )
    ]


def serverless_without_vpc(spec: ModelSections) -> list[Finding]:
    if not _serverless(spec) or spec.serving.vpc is None:
        return []
    return [
        Finding(
            ("serving", "vpc"),
            "Serverless Inference does not support VPC configuration; remove "
            "serving.vpc for this model (and environment) or host it on instances",
            "vpc",
        )
    ]


def serverless_without_data_capture(spec: ModelSections) -> list[Finding]:
    if not _serverless(spec) or not spec.data_capture.enabled:
        return []
    return [
        Finding(
            ("data_capture", "enabled"),
            "Serverless Inference does not support data capture; set "
            "data_capture.enabled to false for this model (and environment)",
            True,
        )
    ]


def serverless_without_autoscaling(spec: ModelSections) -> list[Finding]:
    if not _serverless(spec) or not spec.autoscaling.enabled:
        return []
    return [
        Finding(
            ("autoscaling", "enabled"),
            "instance autoscaling does not apply to a serverless variant (it scales by "
            "concurrency); set autoscaling.enabled to false",
            True,
        )
    ]


def serverless_updates_all_at_once(spec: ModelSections) -> list[Finding]:
    strategy = spec.rollout.strategy
    if not _serverless(spec) or strategy == "all_at_once":
        return []
    return [
        Finding(
            ("rollout", "strategy"),
            f"{strategy} deployment guardrails need instances; a serverless "
            "endpoint updates all at once: set rollout.strategy to all_at_once",
            strategy,
        )
    ]
