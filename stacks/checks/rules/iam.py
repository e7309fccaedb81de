"""IAM: no broad managed policies, and no passing of any role."""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

from cdk_nag import NagRuleCompliance

from stacks.checks.rule import Resource, Rule, TemplateIndex
from stacks.checks.values import listed, statements

_BROAD_MANAGED_POLICY = re.compile(r"FullAccess|AdministratorAccess|PowerUserAccess")


def _no_full_access(res: Resource, _: TemplateIndex) -> NagRuleCompliance:
    arns = listed(res.props.get("ManagedPolicyArns"))
    if any(_BROAD_MANAGED_POLICY.search(json.dumps(arn)) for arn in arns):
        return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT if arns else NagRuleCompliance.NOT_APPLICABLE


def _policy_documents(resource: Resource) -> list[Any]:
    """Inline policy documents of a policy, managed policy, role, user or group."""
    if resource.type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        return [resource.props.get("PolicyDocument")]
    return [p.get("PolicyDocument") for p in listed(resource.props.get("Policies")) if p]


def _allows_pass_role(action: Any) -> bool:
    return isinstance(action, str) and fnmatch.fnmatch("iam:passrole", action.lower())


def _is_wildcard_role(resource: Any) -> bool:
    """`*`, or an ARN whose role part is only a wildcard (`...:role/*`)."""
    if not isinstance(resource, str):
        return False
    return resource == "*" or re.search(r":role/\*$", resource) is not None


def _no_pass_role_on_wildcard(res: Resource, _: TemplateIndex) -> NagRuleCompliance:
    for document in _policy_documents(res):
        for statement in statements(document):
            if statement.get("Effect") != "Allow":
                continue
            if not any(_allows_pass_role(a) for a in listed(statement.get("Action"))):
                continue
            if "NotResource" in statement or any(
                _is_wildcard_role(r) for r in listed(statement.get("Resource"))
            ):
                return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT


IAM_NO_FULL_ACCESS = Rule(
    "IAMNoFullAccess",
    ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"),
    "A broad AWS managed policy (*FullAccess, AdministratorAccess, PowerUserAccess) is attached.",
    "Managed *FullAccess policies such as AmazonSageMakerFullAccess grant far more than a "
    "model needs (every bucket named *sagemaker*, iam:PassRole, every endpoint); write "
    "statements that name their resources instead.",
    _no_full_access,
)

IAM_NO_PASS_ROLE_ON_WILDCARD = Rule(
    "IAMNoPassRoleOnWildcard",
    (
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::Role",
        "AWS::IAM::User",
        "AWS::IAM::Group",
    ),
    "A policy allows iam:PassRole on every role ('*' or ':role/*', or via NotResource).",
    "Passing any role lets the holder hand an administrator role to a SageMaker job or "
    "model and act with it; name the roles that may be passed.",
    _no_pass_role_on_wildcard,
)

RULES = (IAM_NO_FULL_ACCESS, IAM_NO_PASS_ROLE_ON_WILDCARD)
