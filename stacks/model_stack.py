"""`<Prefix>-<model>`: one model in one environment. Composes constructs; builds nothing itself."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack, Tags
from aws_cdk import Environment as CdkEnvironment
from aws_cdk import aws_logs as logs
from constructs import Construct

from bundler import Bundle
from configs.loader import Deployment
from ops.assembly import BUNDLE_METADATA
from stacks.constructs.artifact_storage import ArtifactStorage
from stacks.constructs.bundle_asset import BundleAsset
from stacks.constructs.endpoint import ModelEndpoint
from stacks.constructs.execution_role import ExecutionRole
from stacks.constructs.serving_model import ServingModel


class ModelStack(Stack):
    """Artifact storage, the bundle asset, the execution role, the Model and its Endpoint.

    Args:
        deployment: the model and environment, resolved from config.
        bundle: the model.tar.gz built for this model.
        image_uri: the serving image.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        deployment: Deployment,
        bundle: Bundle,
        image_uri: str,
        **kwargs: Any,
    ) -> None:
        env = deployment.environment
        spec = deployment.spec
        super().__init__(
            scope,
            id_,
            stack_name=deployment.stack_name,
            env=CdkEnvironment(account=env.account, region=env.region),
            termination_protection=env.termination_protection,
            description=f"SageMaker endpoint {deployment.endpoint_name} serving model "
            f"{deployment.model_name} ({deployment.environment_name})",
            **kwargs,
        )
        storage = ArtifactStorage(self, "Artifacts")
        asset = BundleAsset(self, "Bundle", bundle=bundle)
        log_group = logs.LogGroup(
            self,
            "EndpointLogs",
            log_group_name=f"/aws/sagemaker/Endpoints/{deployment.endpoint_name}",
            removal_policy=RemovalPolicy.RETAIN,
        )
        # Config allows exactly CloudWatch's retention values, so the number is set directly.
        log_group.node.default_child.retention_in_days = env.log_retention_days  # type: ignore[union-attr]
        role = ExecutionRole(
            self,
            "ExecutionRole",
            bundle=asset,
            artifacts=storage.bucket,
            image_uri=image_uri,
            log_group=log_group,
        )
        model = ServingModel(
            self,
            "Model",
            image_uri=image_uri,
            model_data_url=asset.s3_object_url,
            role=role.role,
            entry_point=spec.artifact.entry_point,
            region=env.region,
            network_isolation=spec.serving.network_isolation,
            environment=spec.serving.environment,
        )
        endpoint = ModelEndpoint(
            self,
            "Serving",
            endpoint_name=deployment.endpoint_name,
            model_name=model.model_name,
            instance_type=spec.serving.instance_type,
            instance_count=spec.serving.instance_count,
        )
        endpoint.endpoint.node.add_dependency(log_group)

        CfnOutput(self, "EndpointName", value=deployment.endpoint_name)
        CfnOutput(self, "ModelDataUrl", value=asset.s3_object_url)
        CfnOutput(self, "ArtifactBucketName", value=storage.bucket.bucket_name)
        self.template_options.metadata = {
            BUNDLE_METADATA: {
                "model": deployment.model_name,
                "environment": deployment.environment_name,
                "sha256": bundle.sha256,
                "bytes": bundle.size,
            }
        }
        for key, value in {**env.tags, "model": deployment.model_name}.items():
            Tags.of(self).add(key, value)

        self.storage = storage
        self.endpoint = endpoint
        self.model = model
