"""ARNs and the policy statements several roles share: one place that parses S3 and ECR URIs.

The execution role, the variants' models and the training pipeline's role all read objects
named by `s3://` URIs and pull images named by ECR URIs; the ARNs and statements are built here
so that each grant names exactly one bucket, object, prefix or repository the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import cast

from aws_cdk import Stack
from aws_cdk import aws_iam as iam

_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/"
    r"(?P<repository>[^:@]+)[:@]"
)
ECR_PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
)


def split_s3_uri(s3_uri: str) -> tuple[str, str]:
    """`s3://bucket/some/key` -> (`bucket`, `some/key`); the key may be empty or a prefix."""
    bucket, _, key = s3_uri.removeprefix("s3://").partition("/")
    return bucket, key


def s3_bucket_arn(stack: Stack, bucket: str) -> str:
    """The ARN of a bucket by name (S3 ARNs carry no region or account)."""
    return stack.format_arn(service="s3", region="", account="", resource=bucket)


def s3_object_arn(stack: Stack, bucket: str, key: str) -> str:
    """The ARN of one object, or of the objects a key pattern (`prefix/*`) matches."""
    return stack.format_arn(service="s3", region="", account="", resource=bucket, resource_name=key)


def s3_uri_arn(stack: Stack, s3_uri: str) -> str:
    """The object ARN of an `s3://bucket/key` URI (a trailing `*` matches a prefix)."""
    bucket, key = split_s3_uri(s3_uri)
    return s3_object_arn(stack, bucket, key)


def ecr_repository_arn(stack: Stack, image_uri: str) -> str:
    """The ARN of the ECR repository an image URI points into."""
    match = _ECR_IMAGE.match(image_uri)
    if match is None:
        raise ValueError(f"{image_uri!r} is not an ECR image URI")
    return stack.format_arn(
        service="ecr",
        account=match["account"],
        region=match["region"],
        resource="repository",
        resource_name=match["repository"],
    )


def read_objects_statement(*, sid: str, resources: Sequence[str]) -> iam.PolicyStatement:
    """s3:GetObject on exactly the given object ARNs."""
    return iam.PolicyStatement(sid=sid, actions=["s3:GetObject"], resources=list(resources))


def pull_repository_statement(stack: Stack, image_uri: str, *, sid: str) -> iam.PolicyStatement:
    """Pull image layers from the one ECR repository `image_uri` is in."""
    return iam.PolicyStatement(
        sid=sid, actions=list(ECR_PULL_ACTIONS), resources=[ecr_repository_arn(stack, image_uri)]
    )


def pull_image_statements(stack: Stack, image_uri: str, *, sid: str) -> list[iam.PolicyStatement]:
    """Pull `image_uri` from its ECR repository only (the token call has no resource)."""
    return [
        pull_repository_statement(stack, image_uri, sid=sid),
        iam.PolicyStatement(sid="EcrToken", actions=["ecr:GetAuthorizationToken"], resources=["*"]),
    ]


def add_statements(role: iam.Role, statements: Sequence[iam.PolicyStatement]) -> iam.Policy:
    """Add `statements` to the role's default policy and return that policy.

    The same template as `add_to_principal_policy` once per statement (which creates the
    `DefaultPolicy` on first use), in two jsii calls instead of three per statement.
    """
    first, *rest = statements
    role.add_to_principal_policy(first)
    policy = cast(iam.Policy, role.node.find_child("DefaultPolicy"))
    if rest:
        policy.add_statements(*rest)
    return policy
