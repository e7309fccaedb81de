"""The IAM role a SageMaker Model runs as, scoped to exactly what the container touches."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.checks.acknowledge import acknowledge_each, wildcard_resource_finding
from stacks.constructs.bundle_asset import BundleAsset
from stacks.constructs.iam import add_statements, pull_image_statements, read_objects_statement
from stacks.constructs.unpacked_model import UnpackedModelAsset


class ExecutionRole(Construct):
    """Role for the SageMaker Model: read its bundle, pull its image, write its logs.

    No managed `*FullAccess` policies; each statement names its resources. Two wildcards are
    left and acknowledged where they are made: ECR authorization tokens have no resource, and
    object keys in the model's own artifact bucket are chosen by SageMaker at run time.

    Args:
        bundle: the model.tar.gz asset; only that object may be read. Uncompressed: the
            objects under the model's prefix, which may be listed too.
        artifacts: the model's artifact bucket (data capture, training outputs).
        image_uri: the serving image; pulls are allowed from its repository only.
        log_group: the endpoint's log group.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        bundle: BundleAsset | UnpackedModelAsset,
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
            read_objects_statement(sid="ReadBundle", resources=[bundle.object_arn]),
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
            *pull_image_statements(stack, image_uri, sid="PullImage"),
            iam.PolicyStatement(
                sid="WriteLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=[log_group.log_group_arn],
            ),
        ]
        policy = add_statements(self.role, statements)
        if isinstance(bundle, UnpackedModelAsset):
            bundle.grant_read(self.role)

        acknowledge_each(
            policy,
            {
                "AwsSolutions-IAM5[Resource::*]": "Only ecr:GetAuthorizationToken uses '*': it "
                "supports no resource-level permissions.",
                wildcard_resource_finding(self, artifacts.arn_for_objects("*")): "Objects in "
                "the model's own artifact bucket (data capture, training outputs); their keys "
                "are written by SageMaker at run time.",
            },
        )

    def grant_vpc_access(
        self, *, subnet_ids: Sequence[str], security_group_ids: Sequence[str]
    ) -> None:
        """Let SageMaker attach the model's containers to the given subnets (Model.VpcConfig).

        Network interfaces can only be created in those subnets with those security groups;
        the interfaces' own ids are chosen by EC2, and the Describe calls SageMaker makes
        support no resource-level permissions: both wildcards are acknowledged here.
        """
        stack = Stack.of(self)

        def ec2_arn(resource: str, name: str) -> str:
            return stack.format_arn(service="ec2", resource=resource, resource_name=name)

        interfaces = ec2_arn("network-interface", "*")
        statements = [
            iam.PolicyStatement(
                sid="VpcCreateInterfaces",
                actions=["ec2:CreateNetworkInterface"],
                resources=[
                    interfaces,
                    *(ec2_arn("subnet", s) for s in subnet_ids),
                    *(ec2_arn("security-group", g) for g in security_group_ids),
                ],
            ),
            iam.PolicyStatement(
                sid="VpcManageInterfaces",
                actions=[
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                ],
                resources=[interfaces],
            ),
            iam.PolicyStatement(
                sid="VpcDescribe",
                actions=[
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeVpcs",
                ],
                resources=["*"],
            ),
        ]
        acknowledge_each(
            add_statements(self.role, statements),
            {
                "AwsSolutions-IAM5[Resource::*]": "ecr:GetAuthorizationToken and, for the "
                "model's VPC, ec2:Describe* support no resource-level permissions.",
                wildcard_resource_finding(self, interfaces): "Network interfaces SageMaker "
                "creates for the model's VPC get ids chosen by EC2; they can only be created "
                "in the configured subnets and security groups.",
            },
        )

    def grant_read_promoted_model(
        self, *, package_arn: str | None, account: str, prefix: str
    ) -> None:
        """Let the Model read a promoted version's artifact from another account's bucket
        (nothing when it serves no version, or one registered in its own `account`).

        A version registered in another environment names a model.tar.gz under `prefix` of that
        environment's artifact bucket, whose bucket policy lets this account read it
        (`stacks.constructs.training`); cross-account, this role's own policy must allow it
        too. The bucket's name is generated by the other stack, so the statement names every
        bucket and narrows it with `s3:ResourceAccount` to the owning account's.
        """
        owner = package_arn.split(":")[4] if package_arn else account
        if owner == account:
            return
        stack = Stack.of(self)
        resource = f"arn:{stack.partition}:s3:::*/{prefix}/*"
        statement = iam.PolicyStatement(
            sid="ReadPromotedModel",
            actions=["s3:GetObject"],
            resources=[resource],
            conditions={"StringEquals": {"s3:ResourceAccount": owner}},
        )
        acknowledge_each(
            add_statements(self.role, [statement]),
            {
                wildcard_resource_finding(self, resource): "The promoted version's "
                f"model.tar.gz under {prefix}/ of the owning environment's artifact bucket, "
                f"whose generated name this stack cannot know; only buckets of account "
                f"{owner} (s3:ResourceAccount).",
            },
        )
