"""`AWS::SageMaker::ModelPackageGroup`: the versions a training pipeline registers for approval."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct


class ModelRegistry(Construct):
    """A model package group; every version the pipeline registers waits for approval here.

    The group holds the approval history and the versions that environments pin, so it is
    stateful: retained when the stack is deleted, and its logical id is pinned by a test.

    Args:
        group_name: the group's name, `<environment>-<model>` (a literal: the pipeline's
            definition and `python -m ops promote` name it).
        description: shown in SageMaker Studio's model registry.
    """

    def __init__(self, scope: Construct, id_: str, *, group_name: str, description: str) -> None:
        super().__init__(scope, id_)
        self.group = sagemaker.CfnModelPackageGroup(
            self,
            "Group",
            model_package_group_name=group_name,
            model_package_group_description=description,
        )
        self.group.apply_removal_policy(RemovalPolicy.RETAIN)
        self.group_name = group_name
        stack = Stack.of(self)
        self.group_arn = stack.format_arn(
            service="sagemaker", resource="model-package-group", resource_name=group_name
        )
        # Versions are `model-package/<group>/<n>`.
        self.packages_arn = stack.format_arn(
            service="sagemaker", resource="model-package", resource_name=f"{group_name}/*"
        )
