"""`AWS::SageMaker::ModelPackageGroup`: the versions a training pipeline registers for approval,
readable from the other environments' accounts they are promoted to.

Cross-account use follows SageMaker's "Deploy a Model Version from a Different Account"
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-deploy-xaccount.html): the
owning account attaches a resource policy to the group (`ModelPackageGroupPolicy`) that lets the
consuming account describe the group, describe and list its versions and create a Model from
one; the artifact the version names is granted separately (`stacks.constructs.training`).
Approving (`UpdateModelPackage`) stays with the owning account: promotion only reads.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

GROUP_ACTIONS = ("sagemaker:DescribeModelPackageGroup", "sagemaker:ListModelPackages")
VERSION_ACTIONS = (
    "sagemaker:DescribeModelPackage",
    "sagemaker:ListModelPackages",
    "sagemaker:CreateModel",
)


class ModelRegistry(Construct):
    """A model package group; every version the pipeline registers waits for approval here.

    The group holds the approval history and the versions that environments pin, so it is
    stateful: retained when the stack is deleted, and its logical id is pinned by a test.

    Args:
        group_name: the group's name, `<environment>-<model>` (a literal: the pipeline's
            definition and `python -m ops promote` name it).
        description: shown in SageMaker Studio's model registry.
        consumer_accounts: the other environments' accounts, which may deploy its versions;
            none: no resource policy.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        group_name: str,
        description: str,
        consumer_accounts: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, id_)
        stack = Stack.of(self)
        self.group_name = group_name
        self.group_arn = stack.format_arn(
            service="sagemaker", resource="model-package-group", resource_name=group_name
        )
        # Versions are `model-package/<group>/<n>`.
        self.packages_arn = stack.format_arn(
            service="sagemaker", resource="model-package", resource_name=f"{group_name}/*"
        )
        self.consumer_accounts = tuple(consumer_accounts)
        self.group = sagemaker.CfnModelPackageGroup(
            self,
            "Group",
            model_package_group_name=group_name,
            model_package_group_description=description,
            model_package_group_policy=self._policy() if self.consumer_accounts else None,
        )
        self.group.apply_removal_policy(RemovalPolicy.RETAIN)

    def _policy(self) -> iam.PolicyDocument:
        principals: list[iam.IPrincipal] = [
            iam.AccountPrincipal(account) for account in self.consumer_accounts
        ]
        return iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="OtherAccountsReadTheGroup",
                    principals=principals,
                    actions=list(GROUP_ACTIONS),
                    resources=[self.group_arn],
                ),
                iam.PolicyStatement(
                    sid="OtherAccountsDeployItsVersions",
                    principals=principals,
                    actions=list(VERSION_ACTIONS),
                    resources=[self.packages_arn],
                ),
            ]
        )
