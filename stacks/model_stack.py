"""`<Prefix>-<model>`: one model in one environment. Composes constructs; builds nothing itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack, Tags
from aws_cdk import Environment as CdkEnvironment
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from bundler import Bundle
from configs.loader import Deployment
from configs.model import ModelSpec
from configs.serving import VariantSource
from stacks.constructs.alarms import AlarmedVariant, EndpointAlarms
from stacks.constructs.artifact_storage import ArtifactStorage
from stacks.constructs.autoscaling import VariantAutoscaling
from stacks.constructs.bundle_asset import BundleAsset
from stacks.constructs.dashboard import EndpointDashboard
from stacks.constructs.data_capture import DataCapture
from stacks.constructs.encryption_key import EncryptionKey
from stacks.constructs.endpoint import ModelEndpoint, ServerlessProps, VariantProps
from stacks.constructs.execution_role import ExecutionRole, ecr_repository_arn
from stacks.constructs.model_registry import ModelRegistry
from stacks.constructs.paging import PagingTopic
from stacks.constructs.rollout_policy import deployment_config
from stacks.constructs.serving_model import ServingModel
from stacks.constructs.training_events import TrainingEvents
from stacks.constructs.training_pipeline import InputLocation, TrainingPipeline
from stacks.constructs.unpacked_model import UnpackedModelAsset
from stacks.metadata import BundleRecord, stack_metadata


@dataclass(frozen=True)
class VariantModel:
    """Another model folder's bundle, served by a variant of this endpoint."""

    bundle: Bundle
    image_uri: str
    entry_point: str


@dataclass(frozen=True)
class TrainingBuild:
    """What a model's training pipeline is made of, prepared at the edge (stacks.assembly)."""

    code: Bundle
    training_image: str
    definition: str


class ModelStack(Stack):
    """Artifact storage, the bundle asset, the execution role, the Models and their Endpoint,
    the rollout policy with its rollback alarms, paging, autoscaling, data capture, dashboard.

    Args:
        deployment: the model and environment, resolved from config.
        bundle: the model.tar.gz built for this model.
        image_uri: the serving image.
        variant_models: bundles of other models that variants serve, by model name.
        training: the training pipeline's code, image and definition; None: no pipeline.
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
        asset = (
            UnpackedModelAsset(self, "UnpackedBundle", bundle=bundle, bucket=storage.bucket)
            if spec.artifact.compression == "none"
            else BundleAsset(self, "Bundle", bundle=bundle)
        )
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
        served_url = _grant_served_artifact(self, spec, asset, role.role)
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
        models = _VariantModels(
            self,
            spec=spec,
            own_model=model,
            own_image=image_uri,
            region=env.region,
            role=role.role,
            others=variant_models or {},
        )
        if spec.serving.vpc is not None:
            role.grant_vpc_access(
                subnet_ids=spec.serving.vpc.subnet_ids,
                security_group_ids=spec.serving.vpc.security_group_ids,
            )
        encryption = EncryptionKey(
            self,
            "EncryptionKey",
            description=f"Paging topic, captured data and instance volumes of "
            f"{deployment.endpoint_name}",
        )
        capture = (
            DataCapture(
                self,
                "DataCapture",
                bucket=storage.bucket,
                key=encryption.key,
                endpoint_name=deployment.endpoint_name,
                config=spec.data_capture,
                role=role.role,
            )
            if spec.data_capture.enabled
            else None
        )
        production = spec.production_variants()
        endpoint = ModelEndpoint(
            self,
            "Serving",
            endpoint_name=deployment.endpoint_name,
            variants=[
                _variant_props(name, v, models.for_variant(name, v), v.weight)
                for name, v in production.items()
            ],
            shadow_variants=[
                _variant_props(
                    name,
                    v,
                    models.for_variant(name, v),
                    # A shadow's weight relative to the one production variant's is the share
                    # of requests copied to it.
                    next(iter(production.values())).weight * v.sampling_percent / 100,
                )
                for name, v in spec.shadow().items()
            ],
            data_capture=capture.config if capture else None,
            volume_key=encryption.key,
            retain_scaled_capacity=spec.autoscaling.enabled,
        )
        endpoint.endpoint.node.add_dependency(log_group)

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
            registry = ModelRegistry(
                self,
                "ModelRegistry",
                group_name=deployment.endpoint_name,
                description=f"Versions of {deployment.model_name} trained in "
                f"{deployment.environment_name}, for approval",
            )
            pipeline = TrainingPipeline(
                self,
                "Training",
                pipeline_name=f"{deployment.endpoint_name}-training",
                definition=training.definition,
                code=BundleAsset(self, "TrainingCode", bundle=training.code),
                artifacts=storage.bucket,
                registry=registry,
                inputs=[
                    InputLocation(i.s3_uri, versioned=i.version_id is not None)
                    for i in spec.training.inputs.values()
                ],
                training_image=training.training_image,
            )
            TrainingEvents(
                self,
                "TrainingEvents",
                pipeline=pipeline,
                topic=paging.topic,
                key=encryption.key,
                schedule=spec.training.schedule,
            )
            CfnOutput(self, "TrainingPipelineName", value=pipeline.pipeline_name)
            CfnOutput(self, "ModelPackageGroupName", value=registry.group_name)

        CfnOutput(self, "EndpointName", value=deployment.endpoint_name)
        CfnOutput(self, "ModelDataUrl", value=spec.artifact.model_package_arn or served_url)
        CfnOutput(self, "ArtifactBucketName", value=storage.bucket.bucket_name)
        self.template_options.metadata = stack_metadata(
            bundle=BundleRecord(
                model=deployment.model_name,
                environment=deployment.environment_name,
                sha256=bundle.sha256,
                bytes=bundle.size,
            ),
            artifact=_artifact_metadata(spec, bundle),
            variants={
                name: _served(kind, v, deployment.model_name, bundle, variant_models or {})
                for kind, variants in (
                    ("production", spec.production_variants()),
                    ("shadow", spec.shadow()),
                )
                for name, v in variants.items()
            },
        )
        for key, value in {**env.tags, "model": deployment.model_name}.items():
            Tags.of(self).add(key, value)

        self.storage = storage
        self.endpoint = endpoint
        self.model = model
        self.alarms = alarms
        self.paging = paging
        self.key = encryption.key


def _grant_served_artifact(
    stack: Stack, spec: ModelSpec, asset: BundleAsset | UnpackedModelAsset, role: iam.Role
) -> str:
    """The model data URL the endpoint's own Model serves; the role may read a pinned archive."""
    artifact = spec.artifact
    if artifact.source == "s3" and artifact.model_data is not None:
        bucket, _, key = artifact.model_data.s3_uri.removeprefix("s3://").partition("/")
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadPinnedModel",
                actions=["s3:GetObject"],
                resources=[
                    stack.format_arn(
                        service="s3", region="", account="", resource=bucket, resource_name=key
                    )
                ],
            )
        )
        return artifact.model_data.s3_uri
    return asset.s3_object_url


def _artifact_metadata(spec: ModelSpec, bundle: Bundle) -> dict[str, str]:
    """What the endpoint serves, for reviewers: the source and the version or digest."""
    artifact = spec.artifact
    if artifact.source == "registry" and artifact.model_package_arn is not None:
        return {"source": "registry", "model_package_arn": artifact.model_package_arn}
    if artifact.source == "s3" and artifact.model_data is not None:
        return {
            "source": "s3",
            "s3_uri": artifact.model_data.s3_uri,
            "sha256": artifact.model_data.sha256,
        }
    if artifact.compression == "none":  # the key of the files under the S3 prefix
        return {"source": "bundle", "compression": "none", "sha256": bundle.sha256}
    return {"source": "bundle", "sha256": bundle.sha256}


def _served(
    kind: str,
    variant: VariantSource,
    own_name: str,
    own: Bundle,
    others: Mapping[str, VariantModel],
) -> dict[str, str]:
    """What a variant serves, for reviewers: the model and the archive's sha256."""
    if variant.model_data is not None:
        return {
            "kind": kind,
            "model": variant.model_data.s3_uri,
            "sha256": variant.model_data.sha256,
        }
    if variant.model is not None:
        other = others.get(variant.model)
        return {
            "kind": kind,
            "model": variant.model,
            "sha256": other.bundle.sha256 if other else "",
        }
    return {"kind": kind, "model": own_name, "sha256": own.sha256}


def _variant_props(name: str, variant: Any, model_name: str, weight: float) -> VariantProps:
    serverless = getattr(variant, "serverless", None)
    return VariantProps(
        name=name,
        model_name=model_name,
        weight=weight,
        instance_type=None if serverless else variant.instance_type,
        instance_count=None if serverless else variant.instance_count,
        serverless=(
            ServerlessProps(
                serverless.memory_mb, serverless.max_concurrency, serverless.provisioned_concurrency
            )
            if serverless
            else None
        ),
    )


class _VariantModels:
    """One SageMaker Model per distinct model version the variants serve.

    A variant serves this model's own bundle, another model folder's bundle (registered as an
    asset of this stack too), or an archive already in S3. The execution role may read exactly
    those objects and pull from their images' repositories.
    """

    def __init__(
        self,
        stack: Stack,
        *,
        spec: ModelSpec,
        own_model: ServingModel,
        own_image: str,
        region: str,
        role: iam.Role,
        others: Mapping[str, VariantModel],
    ) -> None:
        self._stack = stack
        self._spec = spec
        self._own_image = own_image
        self._region = region
        self._role = role
        self._others = others
        self._models: dict[str, str] = {"": own_model.model_name}

    def for_variant(self, name: str, variant: VariantSource) -> str:
        """The SageMaker model name a variant serves; created on first use."""
        if variant.model is not None:
            key = f"model:{variant.model}"
        elif variant.model_data is not None:
            key = f"s3:{variant.model_data.s3_uri}"
        else:
            key = ""
        if key not in self._models:
            self._models[key] = self._create(name, variant)
        return self._models[key]

    def _create(self, name: str, variant: VariantSource) -> str:
        stack, spec = self._stack, self._spec
        if variant.model is not None:
            other = self._others.get(variant.model)
            if other is None:
                raise ValueError(f"variant {name!r} serves model {variant.model!r}, not bundled")
            asset = BundleAsset(stack, f"Bundle-{variant.model}", bundle=other.bundle)
            url, object_arn = asset.s3_object_url, asset.object_arn
            image, entry_point, id_ = other.image_uri, other.entry_point, f"Model-{variant.model}"
        else:
            assert variant.model_data is not None
            url = variant.model_data.s3_uri
            bucket, _, key = url.removeprefix("s3://").partition("/")
            object_arn = stack.format_arn(
                service="s3", region="", account="", resource=bucket, resource_name=key
            )
            image, entry_point, id_ = self._own_image, spec.artifact.entry_point, f"Model-{name}"
        self._role.add_to_principal_policy(
            iam.PolicyStatement(
                sid=f"ReadVariantModel{len(self._models)}",
                actions=["s3:GetObject"],
                resources=[object_arn],
            )
        )
        if image != self._own_image:
            self._role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid=f"PullVariantImage{len(self._models)}",
                    actions=[
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer",
                    ],
                    resources=[ecr_repository_arn(stack, image)],
                )
            )
        model = ServingModel(
            stack,
            id_,
            image_uri=image,
            model_data_url=url,
            role=self._role,
            entry_point=entry_point,
            region=self._region,
            network_isolation=spec.serving.network_isolation,
            environment=spec.serving.environment,
            vpc=spec.serving.vpc,
        )
        return model.model_name
