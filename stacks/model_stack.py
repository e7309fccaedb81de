"""`<Prefix>-<model>`: one model in one environment. Composes constructs; builds nothing itself.

The order below is the order of the template's resources and of the execution role's
statements: changing it changes the template.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from aws_cdk import Environment as CdkEnvironment
from constructs import Construct

from bundler import Bundle
from bundler.baseline import Baseline
from configs.loader import Deployment
from stacks.constructs.alarms import AlarmedVariant, EndpointAlarms
from stacks.constructs.artifact_storage import ArtifactStorage
from stacks.constructs.autoscaling import VariantAutoscaling
from stacks.constructs.bundle_asset import BundleAsset
from stacks.constructs.dashboard import EndpointDashboard
from stacks.constructs.data_capture import DataCapture, captured_prefix
from stacks.constructs.data_quality_monitor import DataQualityMonitor
from stacks.constructs.encryption_key import EncryptionKey
from stacks.constructs.endpoint import ModelEndpoint
from stacks.constructs.endpoint_logs import EndpointLogGroup
from stacks.constructs.execution_role import ExecutionRole
from stacks.constructs.paging import PagingTopic
from stacks.constructs.pipeline_contract import OUTPUT_PREFIX
from stacks.constructs.rollout_policy import deployment_config
from stacks.constructs.serving_model import ServingModel
from stacks.constructs.training import ModelTraining, TrainingBuild
from stacks.constructs.unpacked_model import UnpackedModelAsset
from stacks.constructs.variant_models import VariantModel, VariantModels, served_model_data
from stacks.model_metadata import model_stack_metadata


class ModelStack(Stack):
    """Artifact storage, the bundle asset, the execution role, the Models and their Endpoint,
    the rollout policy with its rollback alarms, paging, autoscaling, data capture with its
    drift monitoring, dashboard, and the training pipeline with its model registry (and its
    MLflow tracking server when the environment tracks runs).

    Args:
        deployment: the model and environment, resolved from config.
        bundle: the model.tar.gz built for this model.
        image_uri: the serving image.
        variant_models: bundles of other models that variants serve, by model name.
        training: the training pipeline's code, image and definition; None: no pipeline.
        monitoring: the drift baseline and Model Monitor's image; None: no monitoring.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        deployment: Deployment,
        bundle: Bundle,
        image_uri: str,
        variant_models: Mapping[str, VariantModel] | None = None,
        training: TrainingBuild | None = None,
        monitoring: tuple[Baseline, str] | None = None,
        **kwargs: Any,
    ) -> None:
        env = deployment.environment
        spec = deployment.spec
        others = variant_models or {}
        # Given to the stack itself (with the explicitStackTags flag, tags added with Tags.of no
        # longer reach the stack): `ops retire` finds deployed model stacks by the model tag.
        tags = {**env.tags, "model": deployment.model_name}
        super().__init__(
            scope,
            id_,
            stack_name=deployment.stack_name,
            env=CdkEnvironment(account=env.account, region=env.region),
            termination_protection=env.termination_protection,
            tags=tags,
            description=f"SageMaker endpoint {deployment.endpoint_name} serving model "
            f"{deployment.model_name} ({deployment.environment_name})",
            **kwargs,
        )
        storage = ArtifactStorage(self, "Artifacts")
        asset = (
            UnpackedModelAsset(self, "UnpackedBundle", bundle=bundle, bucket=storage.bucket)
            if spec.artifact.compression == "none"
            else BundleAsset(self, "Bundle", bundle=bundle)
        )
        encryption = EncryptionKey(
            self,
            "EncryptionKey",
            description=f"Paging topic, captured data, instance volumes and logs of "
            f"{deployment.endpoint_name}",
        )
        log_group = EndpointLogGroup(
            self,
            "EndpointLogs",
            endpoint_name=deployment.endpoint_name,
            retention_days=env.log_retention_days,
            key=encryption.key,
        )
        role = ExecutionRole(
            self,
            "ExecutionRole",
            bundle=asset,
            artifacts=storage.bucket,
            image_uri=image_uri,
            log_group=log_group,
        )
        role.grant_read_promoted_model(
            package_arn=spec.artifact.model_package_arn, account=env.account, prefix=OUTPUT_PREFIX
        )
        served_url = served_model_data(self, artifact=spec.artifact, asset=asset, role=role.role)
        model = ServingModel(
            self,
            "Model",
            image_uri=image_uri,
            model_data_url=served_url,
            model_package_arn=spec.artifact.model_package_arn,
            role=role.role,
            entry_point=spec.artifact.entry_point,
            region=env.region,
            network_isolation=spec.serving.network_isolation,
            environment=spec.serving.environment,
            vpc=spec.serving.vpc,
            uncompressed=isinstance(asset, UnpackedModelAsset),
        )
        if isinstance(asset, UnpackedModelAsset):
            model.node.add_dependency(asset.deployment)
        models = VariantModels(
            self,
            spec=spec,
            own_model=model,
            own_image=image_uri,
            region=env.region,
            role=role.role,
            others=others,
        )
        if spec.serving.vpc is not None:
            role.grant_vpc_access(
                subnet_ids=spec.serving.vpc.subnet_ids,
                security_group_ids=spec.serving.vpc.security_group_ids,
            )
        capture = (
            DataCapture(
                self,
                "DataCapture",
                bucket=storage.bucket,
                key=encryption.key,
                config=spec.data_capture,
                types=spec.capture_types(),
                role=role.role,
            )
            if spec.data_capture.enabled
            else None
        )
        endpoint = ModelEndpoint(
            self,
            "Serving",
            endpoint_name=deployment.endpoint_name,
            variants=models.production_variants(),
            shadow_variants=models.shadow_variants(),
            data_capture=capture.config if capture else None,
            volume_key=encryption.key,
            retain_scaled_capacity=spec.autoscaling.enabled,
        )
        endpoint.endpoint.node.add_dependency(log_group)

        production = spec.production_variants()
        paging = PagingTopic(
            self,
            "Paging",
            key=encryption.key,
            emails=env.paging.emails,
            https=env.paging.https,
            display_name=f"{deployment.endpoint_name} alarms",
        )
        alarms = EndpointAlarms(
            self,
            "Alarms",
            endpoint_name=deployment.endpoint_name,
            endpoint_config_name=endpoint.endpoint_config_name,
            variants=[
                AlarmedVariant(name, None if v.serverless else v.instance_type)
                for name, v in production.items()
            ],
            config=spec.alarms,
            topic=paging.topic,
        )
        # Rollback alarms are named literally in DeploymentConfig (readable in diffs); the
        # explicit dependency updates them to the new EndpointConfig before the Endpoint moves.
        endpoint.use_deployment_config(deployment_config(spec.rollout, alarms.rollback_alarm_names))
        for alarm in alarms.rollback_alarms:
            endpoint.endpoint.node.add_dependency(alarm)
        alarms.grant_describe_rollback_alarms(role.role)

        if spec.autoscaling.enabled:
            for name, v in production.items():
                if v.serverless is None:
                    scaling = VariantAutoscaling(
                        self,
                        f"Autoscaling-{name}",
                        endpoint_name=deployment.endpoint_name,
                        variant_name=name,
                        config=spec.autoscaling,
                    )
                    scaling.node.add_dependency(endpoint.endpoint)
        if spec.dashboard.enabled:
            EndpointDashboard(
                self,
                "Dashboard",
                endpoint_name=deployment.endpoint_name,
                variants=[*production, *spec.shadow_variants],
                instance_variants=[n for n, v in production.items() if v.serverless is None],
                alarms=alarms.alarms,
            )
        if training is not None and spec.training is not None:
            ModelTraining(
                self,
                endpoint_name=deployment.endpoint_name,
                model_name=deployment.model_name,
                environment_name=deployment.environment_name,
                config=spec.training,
                build=training,
                artifacts=storage.bucket,
                topic=paging.topic,
                key=encryption.key,
                tracking=env.tracking.mlflow,
                consumer_accounts=deployment.other_accounts,
            )

        # After training: its paging rules granted EventBridge the key first, and the key
        # policy keeps its statement order.
        monitor = (
            None
            if monitoring is None
            else DataQualityMonitor(
                self,
                "DataQuality",
                endpoint_name=deployment.endpoint_name,
                endpoint=endpoint.endpoint,
                config=spec.monitoring.data_quality,
                baseline=monitoring[0],
                image_uri=monitoring[1],
                bucket=storage.bucket,
                capture_prefix=captured_prefix(deployment.endpoint_name),
                key=encryption.key,
                topic=paging.topic,
            )
        )

        CfnOutput(self, "EndpointName", value=deployment.endpoint_name)
        CfnOutput(self, "ModelDataUrl", value=spec.artifact.model_package_arn or served_url)
        CfnOutput(self, "ArtifactBucketName", value=storage.bucket.bucket_name)
        self.template_options.metadata = model_stack_metadata(
            deployment=deployment,
            bundle=bundle,
            variant_bundles={name: other.bundle for name, other in others.items()},
            monitoring=monitor.record() if monitor else None,
        )
        for key, value in tags.items():
            Tags.of(self).add(key, value)

        self.storage = storage
        self.endpoint = endpoint
        self.model = model
        self.alarms = alarms
        self.paging = paging
        self.key = encryption.key
        self.monitor = monitor
