"""The IAM role a SageMaker Model runs as, scoped to exactly what the container touches."""

from __future__ import annotations

import re

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.constructs.bundle_asset import BundleAsset
from stacks.nag import acknowledge

_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/"
    r"(?P<repository>[^:@]+)[:@]"
)


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


class ExecutionRole(Construct):
    """Role for the SageMaker Model: read its bundle, pull its image, write its logs.

    No managed `*FullAccess` policies; each statement names its resources. Two wildcards are
    left and acknowledged where they are made: ECR authorization tokens have no resource, and
    object keys in the model's own artifact bucket are chosen by SageMaker at run time.

    Args:
        bundle: the model.tar.gz asset; only that object may be read.
        artifacts: the model's artifact bucket (data capture, training outputs).
        image_uri: the serving image; pulls are allowed from its repository only.
        log_group: the endpoint's log group.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        bundle: BundleAsset,
        artifacts: s3.IBucket,
        image_uri: str,
        log_group: logs.ILogGroup,
    ) -> None:
        super().__init__(scope, id_)
        stack = Stack.of(self)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Runs the SageMaker model: reads its bundle, pulls its image, logs.",
        )
        statements = [
            iam.PolicyStatement(
                sid="ReadBundle",
                actions=["s3:GetObject"],
                resources=[bundle.object_arn],
            ),
            iam.PolicyStatement(
                sid="UseArtifacts",
                actions=["s3:GetObject", "s3:PutObject"],
                resources=[artifacts.arn_for_objects("*")],
            ),
            iam.PolicyStatement(
                sid="ListArtifacts",
                actions=["s3:ListBucket", "s3:GetBucketLocation"],
                resources=[artifacts.bucket_arn],
            ),
            iam.PolicyStatement(
                sid="PullImage",
                actions=[
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                resources=[ecr_repository_arn(stack, image_uri)],
            ),
            iam.PolicyStatement(
                sid="EcrToken", actions=["ecr:GetAuthorizationToken"], resources=["*"]
            ),
            iam.PolicyStatement(
                sid="WriteLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=[log_group.log_group_arn],
            ),
        ]
        for statement in statements:
            self.role.add_to_principal_policy(statement)

        policy = self.role.node.find_child("DefaultPolicy")
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "Only ecr:GetAuthorizationToken uses '*': it supports no resource-level permissions.",
        )
        artifacts_id = stack.resolve(artifacts.bucket_arn)
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::<{_logical_id(artifacts_id)}>/*]",
            "Objects in the model's own artifact bucket (data capture, training outputs); "
            "their keys are written by SageMaker at run time.",
        )


def _logical_id(resolved: object) -> str:
    """`{"Fn::GetAtt": ["Id", "Arn"]}` -> `Id.Arn`, the form cdk-nag prints in finding ids."""
    if isinstance(resolved, dict) and "Fn::GetAtt" in resolved:
        logical, attribute = resolved["Fn::GetAtt"]
        return f"{logical}.{attribute}"
    raise ValueError(f"expected a GetAtt reference, got {resolved!r}")
