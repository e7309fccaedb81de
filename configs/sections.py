"""Every section a model's config may have, and the views of them that rules and stacks read.

`ModelSections` holds no cross-field checks: a model file is checked as a whole only once the
environment's defaults and overrides are merged in. `configs.model.ModelSpec` is the merged,
checked form (its rules live in `configs.rules`).
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from pydantic import Field, StrictStr

from configs.alarms import Alarms
from configs.artifact import Artifact, Framework
from configs.base import NAME_PATTERN, Strict
from configs.evaluation import Evaluation
from configs.monitoring import Monitoring
from configs.rollout import Rollout
from configs.serving import (
    DEFAULT_VARIANT,
    Autoscaling,
    CaptureTypes,
    Dashboard,
    DataCapture,
    SageMakerName,
    Serving,
    ShadowVariant,
    Variant,
    VariantSource,
    capture_types,
)
from configs.smoke import Smoke
from configs.training import Quality, Training

V = TypeVar("V", bound=VariantSource)


class ModelSections(Strict):
    """A model's sections: the bundle, its hosting, rollout, alarms, training and evaluation."""

    name: Annotated[StrictStr, Field(pattern=NAME_PATTERN)] | None = Field(
        None,
        description="Model name used in stack and endpoint names; defaults to the folder name.",
    )
    description: StrictStr = ""
    framework: Framework = Framework()
    artifact: Artifact
    serving: Serving = Serving()
    rollout: Rollout = Rollout()
    variants: dict[SageMakerName, Variant] = Field(
        default_factory=dict,
        description="Production variants by name (for example champion and challenger), each "
        "with its weight, model version and hosting; unset: one variant 'primary' serving this "
        "model on serving.instance_type x serving.instance_count.",
    )
    shadow_variants: dict[SageMakerName, ShadowVariant] = Field(
        default_factory=dict,
        description="At most one shadow variant that gets a copy of live requests; needs "
        "exactly one production variant.",
    )
    alarms: Alarms = Alarms()
    autoscaling: Autoscaling = Autoscaling()
    data_capture: DataCapture = DataCapture()
    monitoring: Monitoring = Field(
        default_factory=Monitoring,
        description="Drift monitoring of the endpoint: monitoring.data_quality checks captured "
        "requests against a baseline built at synth from the training data.",
    )
    dashboard: Dashboard = Dashboard()
    quality: Quality | None = Field(
        None, description="Held-out metric and threshold a trained model must clear to ship."
    )
    training: Training | None = Field(
        None,
        description="How to train the model in a SageMaker Pipeline that registers it for "
        "approval; unset: no pipeline.",
    )
    evaluation: Evaluation | None = Field(
        None,
        description="Requests the PR diff sends to the base and the head bundle to compare "
        "their answers and the quality metric; unset: the diff compares bundles only.",
    )
    smoke: Smoke = Field(
        default_factory=Smoke,
        description="The request the verifier sends after each deploy (example.json by "
        "default) and what a good answer looks like; unset: HTTP 200 and a body that parses "
        "as JSON.",
    )

    def production_variants(self) -> dict[str, Variant]:
        """Production variants by name, instance type and count filled in from `serving`."""
        variants = self.variants or {DEFAULT_VARIANT: Variant()}
        return {name: self._filled(v) for name, v in variants.items()}

    def shadow(self) -> dict[str, ShadowVariant]:
        return {name: self._filled(v) for name, v in self.shadow_variants.items()}

    def _filled(self, variant: V) -> V:
        if isinstance(variant, Variant) and variant.serverless is not None:
            return variant
        return variant.model_copy(
            update={
                "instance_type": variant.instance_type or self.serving.instance_type,
                "instance_count": variant.instance_count or self.serving.instance_count,
            }
        )

    def rollback_alarm_count(self) -> int:
        """Alarms SageMaker would watch during a rollout: per production variant, each rule
        with rollback: true that the variant gets."""
        rules = self.alarms.rules().values()
        return sum(
            1
            for variant in self.production_variants().values()
            for rule in rules
            if rule.rollback and rule.applies_to(serverless=variant.serverless is not None)
        )

    def capture_types(self) -> CaptureTypes:
        """What data capture records as text: the CSV and JSON content types of the requests
        and answers the smoke test and the evaluation set send and accept, and the defaults."""
        used = [self.smoke.content_type, self.smoke.accept]
        if self.evaluation is not None:
            used += [self.evaluation.content_type, self.evaluation.accept]
        return capture_types(used)
