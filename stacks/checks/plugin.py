"""`SageMakerChecks`, the CDK validation plugin of the project's pack, and `add_checks`.

The plugin reads the synthesized templates: one call from the CDK framework per synth and plain
Python over JSON after it. (Walking the construct tree instead, as cdk-nag's `NagPack` does,
costs one jsii round trip per resource and rule: most of a synth's per-stack time when the pack
is written in Python.) The framework maps each finding's logical id back to its construct and
applies acknowledgements, recorded under the plugin's name (`SageMakerChecks::SageMaker-<Rule>`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import jsii
from aws_cdk import (
    App,
    IPolicyValidationContext,
    IPolicyValidationPlugin,
    PolicyValidationPluginReport,
    PolicyViolatingResource,
    PolicyViolation,
    Validations,
)
from cdk_nag import AwsSolutionsChecks

from stacks.checks.acknowledge import PLUGIN
from stacks.checks.pack import RULES, check_template
from stacks.checks.rule import Rule
from stacks.templates import read_template


def report(template_paths: Sequence[str]) -> PolicyValidationPluginReport:
    """Run every rule over the templates at `template_paths`, grouped by rule."""
    found: dict[Rule, list[PolicyViolatingResource]] = {}
    for path in template_paths:
        for finding in check_template(read_template(Path(path))):
            found.setdefault(finding.rule, []).append(
                PolicyViolatingResource(
                    resource_logical_id=finding.logical_id,
                    template_path=path,
                    locations=["Properties"],
                )
            )
    violations = [
        PolicyViolation(
            rule_name=rule.id,
            description=rule.info,
            fix=rule.explanation,
            severity="error",
            violating_resources=resources,
        )
        for rule, resources in found.items()
    ]
    return PolicyValidationPluginReport(success=not violations, violations=violations)


@jsii.implements(IPolicyValidationPlugin)
class SageMakerChecks:
    """The project's rule pack: `Validations.of(app).add_plugins(SageMakerChecks())`."""

    @property
    def name(self) -> str:
        return PLUGIN

    @property
    def rule_ids(self) -> list[str]:
        return [rule.id for rule in RULES]

    @property
    def version(self) -> str:
        return "1.0.0"

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        return report(context.template_paths)


def add_checks(app: App) -> None:
    """Run AwsSolutions and the project's SageMaker pack on every stack; an unacknowledged
    finding of either fails synth."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True), SageMakerChecks())
