"""`AWS::SageMaker::Model`: the serving image, the bundle, and how to start it."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from configs.serving import Vpc
from stacks.checks.acknowledge import acknowledge

# Where SageMaker extracts the bundle's code/ folder inside the container.
CODE_DIR = "/opt/ml/model/code"


class ServingModel(Construct):
    """A SageMaker Model for one bundle.

    The model has no explicit name, so a new bundle, image or setting gives a new Model (and
    with it a new EndpointConfig) while the Endpoint is updated in place through its
    deployment guardrails.

    Args:
        image_uri: the SageMaker PyTorch inference image.
        model_data_url: S3 URL of model.tar.gz.
        role: the execution role; the model waits for its policy.
        entry_point: the inference script's path under code/ (SAGEMAKER_PROGRAM). An empty
            SAGEMAKER_PROGRAM makes /ping report healthy while invocations hang.
        network_isolation: run the container without network access. Off, the
            `SageMaker-ModelNetworkIsolation` finding is acknowledged here with the reason:
            the model's config turned it off (serverless variants cannot be isolated; a
            container that installs requirements at start-up needs the network).
        environment: extra container environment variables.
        model_package_arn: serve this approved model package version instead (its image and
            model data are the package's; image_uri and model_data_url are then not used).
        vpc: subnets and security groups the container attaches to.
        uncompressed: model_data_url is an S3 prefix of the bundle's files (ModelDataSource,
            S3Prefix, CompressionType None) instead of a model.tar.gz.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        image_uri: str,
        model_data_url: str,
        role: iam.Role,
        entry_point: str,
        region: str,
        network_isolation: bool,
        environment: Mapping[str, str],
        model_package_arn: str | None = None,
        vpc: Vpc | None = None,
        uncompressed: bool = False,
    ) -> None:
        super().__init__(scope, id_)
        if not entry_point:
            raise ValueError("entry_point must name the inference script")
        self.resource = sagemaker.CfnModel(
            self,
            "Resource",
            execution_role_arn=role.role_arn,
            enable_network_isolation=network_isolation,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=None if model_package_arn else image_uri,
                mode="SingleModel",
                model_data_url=None if model_package_arn or uncompressed else model_data_url,
                model_data_source=(
                    sagemaker.CfnModel.ModelDataSourceProperty(
                        s3_data_source=sagemaker.CfnModel.S3DataSourceProperty(
                            s3_uri=model_data_url, s3_data_type="S3Prefix", compression_type="None"
                        )
                    )
                    if uncompressed and not model_package_arn
                    else None
                ),
                model_package_name=model_package_arn,
                environment={
                    **environment,
                    "SAGEMAKER_PROGRAM": entry_point,
                    "SAGEMAKER_SUBMIT_DIRECTORY": CODE_DIR,
                    "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
                    "SAGEMAKER_REGION": region,
                },
            ),
            vpc_config=(
                sagemaker.CfnModel.VpcConfigProperty(
                    subnets=list(vpc.subnet_ids), security_group_ids=list(vpc.security_group_ids)
                )
                if vpc is not None
                else None
            ),
        )
        if not network_isolation:
            acknowledge(
                self.resource,
                "SageMaker-ModelNetworkIsolation",
                "serving.network_isolation is false in the model's config: the container needs "
                "the network (a serverless variant, or requirements installed at start-up)"
                + (", confined to the configured VPC." if vpc is not None else "."),
            )
        # SageMaker checks the role when the model is created: its policy must exist first.
        # (The role itself is already a dependency through the GetAtt of its ARN.)
        policy = role.node.try_find_child("DefaultPolicy")
        if policy is not None:
            self.resource.node.add_dependency(policy)
        self.model_name = self.resource.attr_model_name
