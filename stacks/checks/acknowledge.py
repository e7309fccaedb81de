"""Acknowledging one finding on one construct, with the reason: what constructs call.

A finding that carries a detail is acknowledged one by one (for example
`AwsSolutions-IAM5[Resource::*]`); there is no blanket, stack-wide form. checkov, which reads
the synthesized templates rather than the constructs, takes its skips from the one resource's
`Metadata`, each with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from constructs import IConstruct

PACK = "SageMaker"  # rule ids of the project's pack: SageMaker-<Rule>
PLUGIN = "SageMakerChecks"  # the pack's validation plugin name, and its acknowledgement namespace


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one finding on one construct (and its children), with the reason."""
    acknowledge_each(scope, {rule: reason})


def acknowledge_each(scope: IConstruct, reasons: Mapping[str, str]) -> None:
    """Acknowledge each finding of `reasons` (finding id -> reason) on one construct.

    The project pack's rules (`SageMaker-...`) are recorded under its plugin name, the
    namespace in which the CDK framework matches them to that plugin's findings; cdk-nag
    matches its own ids itself. One jsii call for all of them, not one per finding.
    """
    Validations.of(scope).acknowledge(
        *(Acknowledgment(id=_qualified(rule), reason=reason) for rule, reason in reasons.items())
    )


def skip_checkov(resource: CfnResource, check: str, reason: str) -> None:
    """Record on one resource that checkov's `check` (e.g. `CKV_AWS_18`) does not apply, and why.

    Written as the resource's `Metadata: checkov: skip: [{id, comment}]`, the form checkov reads
    from CloudFormation templates; checkov reports the comment with the skipped check.
    """
    recorded = resource.get_metadata("checkov") or {}
    skips = [*recorded.get("skip", []), {"id": check, "comment": reason}]
    resource.add_metadata("checkov", {**recorded, "skip": skips})


def _qualified(rule: str) -> str:
    return f"{PLUGIN}::{rule}" if rule.startswith(f"{PACK}-") else rule


def wildcard_resource_finding(scope: IConstruct, resource: str) -> str:
    """The AwsSolutions-IAM5 finding id for a wildcard `resource` (an ARN, possibly tokens).

    References print as `<LogicalId>` and attributes as `<LogicalId.Attr>`, as cdk-nag does:
    `AwsSolutions-IAM5[Resource::<ArtifactsBucket88671897.Arn>/*]`.
    """
    return wildcard_resource_findings(scope, [resource])[0]


def wildcard_resource_findings(scope: IConstruct, resources: Sequence[str]) -> list[str]:
    """`wildcard_resource_finding` of each resource, resolved together in one jsii call."""
    resolved = Stack.of(scope).resolve(list(resources))
    return [f"AwsSolutions-IAM5[Resource::{_finding_text(r)}]" for r in resolved]


def _finding_text(resolved: object) -> str:
    if isinstance(resolved, str):
        return resolved
    if isinstance(resolved, dict) and "Fn::Join" in resolved:
        separator, parts = resolved["Fn::Join"]
        return str(separator).join(_finding_text(part) for part in parts)
    if isinstance(resolved, dict) and "Ref" in resolved:
        return f"<{resolved['Ref']}>"
    if isinstance(resolved, dict) and "Fn::GetAtt" in resolved:
        logical, attribute = resolved["Fn::GetAtt"]
        return f"<{logical}.{attribute}>"
    raise ValueError(f"cannot name {resolved!r} in a finding id")
