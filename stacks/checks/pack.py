"""The project's rule pack: what AwsSolutions does not check, over one synthesized template.

AwsSolutions has no rules for SageMaker models, endpoint configs or endpoints (its SM1-SM3
cover notebook instances), none for Model Monitor's job definitions, and none that ties an
endpoint to its alarms. This pack adds them,
plus the IAM and SSL rules the project promises in SECURITY.md, so they hold even if a later
AwsSolutions release changes its own. Every rule id is `SageMaker-<Rule>`; a finding fails
synth unless it is acknowledged on the construct with a reason
(`stacks.checks.acknowledge.acknowledge`).

The rules look at resolved CloudFormation properties, which is exactly what a template holds,
so checking is plain Python over JSON (`stacks.checks.plugin` hands it the templates).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cdk_nag import NagRuleCompliance

from stacks.checks.rule import Rule, TemplateIndex
from stacks.checks.rules import encryption, iam, model_monitor, monitoring, network, transport

RULES: tuple[Rule, ...] = (
    *encryption.RULES,
    *network.RULES,
    *iam.RULES,
    *transport.RULES,
    *monitoring.RULES,
    *model_monitor.RULES,
)


@dataclass(frozen=True)
class Finding:
    """One rule broken by one resource of one template."""

    rule: Rule
    logical_id: str


def check_template(template: Mapping[str, Any]) -> Iterator[Finding]:
    """Every finding of every rule in one synthesized template, rule by rule (acknowledgements
    not applied: the CDK framework applies them, by construct path)."""
    index = TemplateIndex(template)
    for rule in RULES:
        for kind in rule.types:
            for resource in index.of_type(kind):
                if rule.check(resource, index) is NagRuleCompliance.NON_COMPLIANT:
                    yield Finding(rule, resource.logical_id)
