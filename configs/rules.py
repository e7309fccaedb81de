"""Cross-field rules: what SageMaker would refuse, or silently not do, once sections meet.

Each rule is a small function that reads a model's merged sections and returns what is wrong,
each finding at the field path to fix. `RULES` is the table `configs.model.ModelSpec` runs after
environment defaults and overrides are merged in; a new rule is one function and one line there.
The rules of Serverless Inference's exclusions live in `configs.serverless_rules`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from configs.alarms import MAX_ROLLBACK_ALARMS
from configs.base import Finding
from configs.evaluation import METRICS, metric_kind
from configs.monitoring import monitoring_findings
from configs.rollout import capacity_problems, planned_wait
from configs.sections import ModelSections
from configs.serverless_rules import (
    serverless_has_no_instances,
    serverless_reads_archives,
    serverless_serves_alone,
    serverless_updates_all_at_once,
    serverless_without_autoscaling,
    serverless_without_data_capture,
    serverless_without_network_isolation,
    serverless_without_vpc,
)

Rule = Callable[[ModelSections], list[Finding]]

# A variant name must name a role (champion, challenger), not a version: blue/green and rolling
# updates need "the same variant name as the old endpoint configuration" (SageMaker guide,
# Deployment guardrails, Exclusions).
VERSION_LIKE = re.compile(r"(^|-)v\d+($|-)|(^|-)\d+($|-)|[0-9a-f]{7,}|\d{6,}", re.IGNORECASE)


def training_has_quality_bar(spec: ModelSections) -> list[Finding]:
    training = spec.training
    if training is None or not training.enabled or spec.quality is not None:
        return []
    return [
        Finding(
            ("training",),
            "training registers a model only when it clears the quality bar; add a "
            "quality section (metric, threshold, greater_is_better)",
            None,
        )
    ]


def training_has_inputs(spec: ModelSections) -> list[Finding]:
    training = spec.training
    if training is None or not training.enabled or training.inputs:
        return []
    return [
        Finding(
            ("training", "inputs"),
            "training needs at least one input channel, for example inputs: {train: "
            "{s3_uri: s3://my-bucket/iris/}}",
            {},
        )
    ]


def evaluation_computes_quality_metric(spec: ModelSections) -> list[Finding]:
    # The PR gate compares quality.metric on the evaluation set; a metric it cannot compute
    # would be a bar that never fails.
    evaluation, quality = spec.evaluation, spec.quality
    if evaluation is None or quality is None:
        return []
    if metric_kind(quality.metric) is None:
        return [
            Finding(
                ("quality", "metric"),
                f"the evaluation set computes {' or '.join(METRICS)} from labels, not "
                f"{quality.metric!r}, so the PR gate could never fail; name one of them (for "
                "example test_accuracy) or remove the evaluation section",
                quality.metric,
            )
        ]
    if evaluation.label_path is None:
        return [
            Finding(
                ("evaluation", "label_path"),
                f"quality.metric {quality.metric!r} is computed from the labels in the "
                "responses; set label_path to where a label sits (for example "
                "'predictions[*].label')",
                None,
            )
        ]
    return []


def smoke_labels_have_a_path(spec: ModelSections) -> list[Finding]:
    # Expected labels are read at a label path: the smoke section's own, else the evaluation's.
    expect = spec.smoke.expect
    evaluation_path = spec.evaluation.label_path if spec.evaluation else None
    if expect.labels is None or expect.label_path or evaluation_path:
        return []
    return [
        Finding(
            ("smoke", "expect", "label_path"),
            "smoke.expect.labels are read at a label path; set label_path (for example "
            "'predictions[*].label', or '[*]' with label_from: argmax for a plain list of "
            "class scores) or evaluation.label_path",
            None,
        )
    ]


def variant_names_are_roles(spec: ModelSections) -> list[Finding]:
    return [
        Finding(
            (section, name),
            f"variant name {name!r} looks like a model version; SageMaker's "
            "blue/green and rolling updates need each variant to keep its name "
            "from one version to the next: name the role (champion, challenger, "
            "candidate) and put the version in 'model' or 'model_data'",
            name,
        )
        for section, named in (
            ("variants", spec.variants),
            ("shadow_variants", spec.shadow_variants),
        )
        for name, variant in named.items()
        if VERSION_LIKE.search(name) or (variant.model and variant.model in name)
    ]


def shadow_is_not_production(spec: ModelSections) -> list[Finding]:
    return [
        Finding(("shadow_variants", name), f"{name!r} is also a production variant", name)
        for name in sorted(set(spec.variants) & set(spec.shadow_variants))
    ]


def some_variant_takes_traffic(spec: ModelSections) -> list[Finding]:
    # Weights are relative; at least one variant must take traffic.
    variants = spec.production_variants()
    if sum(v.weight for v in variants.values()) > 0:
        return []
    return [
        Finding(
            ("variants",),
            "every production variant has weight 0, so no variant would get traffic; "
            "give at least one a positive weight",
            {n: v.weight for n, v in variants.items()},
        )
    ]


def shadow_test_pairs_one_with_one(spec: ModelSections) -> list[Finding]:
    # ShadowProductionVariants: "you can only specify one variant for ProductionVariants and
    # one variant for ShadowProductionVariants" (API_CreateEndpointConfig).
    variants, shadows = spec.production_variants(), spec.shadow()
    if not shadows or (len(variants) == 1 and len(shadows) <= 1):
        return []
    return [
        Finding(
            ("shadow_variants",),
            f"a shadow test pairs one production variant with one shadow variant; found "
            f"{len(variants)} production and {len(shadows)} shadow variants",
            sorted(shadows),
        )
    ]


# --------------------------------------------------------------------------------------------
# Rollout against the variants, alarms and autoscaling it works with.
# --------------------------------------------------------------------------------------------


def _instance_counts(spec: ModelSections) -> list[int]:
    """Instance counts of the production variants hosted on instances."""
    return [
        v.instance_count
        for v in spec.production_variants().values()
        if v.instance_count is not None
    ]


def rolling_has_one_variant(spec: ModelSections) -> list[Finding]:
    # Deployment guardrails exclusions: rolling updates support neither multi-variant nor
    # serverless endpoints.
    variants = spec.production_variants()
    if spec.rollout.strategy != "rolling" or len(variants) <= 1:
        return []
    return [
        Finding(
            ("rollout", "strategy"),
            f"rolling updates do not support endpoints with several production variants "
            f"({', '.join(sorted(variants))}); use canary, linear or all_at_once",
            spec.rollout.strategy,
        )
    ]


def rollout_sizes_fit_variants(spec: ModelSections) -> list[Finding]:
    counts = _instance_counts(spec)
    if not counts:
        return []
    return capacity_problems(spec.rollout, smallest=min(counts), largest=max(counts))


def time_limit_exceeds_waits(spec: ModelSections) -> list[Finding]:
    rollout = spec.rollout
    if rollout.max_execution_seconds is None:
        return []
    waiting = planned_wait(rollout, instances=min(_instance_counts(spec), default=1))
    if rollout.max_execution_seconds > waiting:
        return []
    return [
        Finding(
            ("rollout", "max_execution_seconds"),
            f"{rollout.max_execution_seconds} s does not exceed the {waiting} s the "
            f"{rollout.strategy} rollout spends baking and waiting; raise it (at most "
            "28800) or shorten the bake times",
            rollout.max_execution_seconds,
        )
    ]


def rollback_alarms_within_limit(spec: ModelSections) -> list[Finding]:
    rollback = spec.rollback_alarm_count()
    if rollback <= MAX_ROLLBACK_ALARMS:
        return []
    return [
        Finding(
            ("alarms",),
            f"{rollback} rollback alarms ({len(spec.production_variants())} production variants "
            f"x the alarms with rollback: true); SageMaker takes at most {MAX_ROLLBACK_ALARMS}: "
            "set rollback: false on some alarms or serve fewer variants",
            rollback,
        )
    ]


def autoscaling_holds_instance_counts(spec: ModelSections) -> list[Finding]:
    scaling = spec.autoscaling
    if not scaling.enabled:
        return []
    return [
        Finding(
            ("autoscaling",),
            f"variant {name!r} starts with {count} instances, outside autoscaling's "
            f"{scaling.min_instances}-{scaling.max_instances}; adjust min_instances "
            "/ max_instances or the instance count",
            count,
        )
        for name, variant in spec.production_variants().items()
        if (count := variant.instance_count) is not None
        and not scaling.min_instances <= count <= scaling.max_instances
    ]


def monitoring_is_complete(spec: ModelSections) -> list[Finding]:
    return monitoring_findings(spec.monitoring.data_quality, spec.data_capture)


# In the order their findings are reported.
RULES: tuple[Rule, ...] = (
    training_has_quality_bar,
    training_has_inputs,
    evaluation_computes_quality_metric,
    smoke_labels_have_a_path,
    variant_names_are_roles,
    shadow_is_not_production,
    some_variant_takes_traffic,
    shadow_test_pairs_one_with_one,
    serverless_reads_archives,
    serverless_has_no_instances,
    serverless_serves_alone,
    serverless_without_network_isolation,
    serverless_without_vpc,
    serverless_without_data_capture,
    serverless_without_autoscaling,
    serverless_updates_all_at_once,
    rolling_has_one_variant,
    rollout_sizes_fit_variants,
    time_limit_exceeds_waits,
    rollback_alarms_within_limit,
    autoscaling_holds_instance_counts,
    monitoring_is_complete,
)


def findings(spec: ModelSections) -> list[Finding]:
    """Every finding of every rule, in table order."""
    return [found for rule in RULES for found in rule(spec)]
