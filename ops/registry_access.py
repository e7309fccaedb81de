"""Whether another account may deploy a registered model version: read from its group's policy.

A version registered in one environment's account is served by every environment once it is
promoted; an environment in another account can create its Model only if the group's resource
policy lets that account describe the version and create a Model from it (SageMaker's "Deploy a
Model Version from a Different Account",
https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-deploy-xaccount.html). The stack
that owns the group writes that policy for every other environment's account
(`stacks.constructs.model_registry`); `python -m ops promote` reads it back with the owning
account's credentials, so a promotion that would fail in another account is refused before the
config changes.

What is checked is the policy as IAM reads an Allow statement: the account as principal (its id,
or `arn:<partition>:iam::<id>:root`), each needed action (or a `sagemaker:*` / `*` wildcard) and
the version's ARN matched by a resource pattern. Deny statements, conditions and the consuming
account's own IAM are not evaluated: the deploy role there is the CDK's, which may act on any
resource its account is let in to.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping
from typing import Any

NEEDED = ("sagemaker:DescribeModelPackage", "sagemaker:CreateModel")


def _listed(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def _principal_accounts(statement: Mapping[str, Any]) -> set[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return {"*"}
    named = _listed(principal.get("AWS")) if isinstance(principal, Mapping) else []
    accounts = set()
    for value in named:
        if value.isdigit():
            accounts.add(value)
        elif value.startswith("arn:") and value.endswith(":root"):
            accounts.add(value.split(":")[4])
    return accounts


def _allows(action: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)


def allowed_accounts(policy: str | None, *, package_arn: str) -> set[str]:
    """The accounts the policy lets describe `package_arn` and create a Model from it
    (`*` when any principal may)."""
    if not policy:
        return set()
    try:
        document = json.loads(policy)
    except json.JSONDecodeError:
        return set()
    statements = document.get("Statement") if isinstance(document, Mapping) else None
    if isinstance(statements, Mapping):
        statements = [statements]
    granted: dict[str, set[str]] = {}
    for statement in statements if isinstance(statements, list) else []:
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        resources = _listed(statement.get("Resource"))
        if not any(fnmatch.fnmatchcase(package_arn, r) for r in resources):
            continue
        actions = _listed(statement.get("Action"))
        for account in _principal_accounts(statement):
            granted.setdefault(account, set()).update(a for a in NEEDED if _allows(a, actions))
    return {account for account, actions in granted.items() if set(NEEDED) <= actions}


def group_policy(sagemaker: Any, group: str) -> str | None:
    """The group's resource policy; None when it has none (SageMaker answers an error)."""
    from botocore.exceptions import ClientError

    try:
        answer = sagemaker.get_model_package_group_policy(ModelPackageGroupName=group)
    except ClientError:
        return None
    policy = answer.get("ResourcePolicy")
    return str(policy) if policy else None


def refusals(
    *, policy: str | None, package_arn: str, group: str, consumers: Mapping[str, str]
) -> list[str]:
    """One line per environment (name -> account) that could not deploy the version."""
    allowed = allowed_accounts(policy, package_arn=package_arn)
    if "*" in allowed:
        return []
    version = package_arn.rsplit("/", 2)[-2:]
    return [
        f"environment {name!r} (account {account}) has no access to {'/'.join(version)}: the "
        f"model package group {group}'s resource policy does not let account {account} "
        f"{' and '.join(NEEDED)} it"
        for name, account in sorted(consumers.items())
        if account not in allowed
    ]
