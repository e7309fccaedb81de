"""Which model version each variant serves: one SageMaker Model per distinct version.

A variant serves this model's own bundle, another model folder's bundle (registered as an asset
of this stack too), or an archive already in S3. The execution role may read exactly those
objects and pull from their images' repositories.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from bundler import Bundle
from configs.artifact import Artifact
from configs.model import ModelSpec
from configs.serving import ShadowVariant, Variant, VariantSource
from stacks.constructs.bundle_asset import BundleAsset
from stacks.constructs.endpoint import ServerlessProps, VariantProps
from stacks.constructs.iam import pull_repository_statement, read_objects_statement, s3_uri_arn
from stacks.constructs.serving_model import ServingModel
from stacks.constructs.unpacked_model import UnpackedModelAsset


@dataclass(frozen=True)
class VariantModel:
    """Another model folder's bundle, served by a variant of this endpoint."""

    bundle: Bundle
    image_uri: str
    entry_point: str


def served_model_data(
    scope: Construct, *, artifact: Artifact, asset: BundleAsset | UnpackedModelAsset, role: iam.Role
) -> str:
    """The model data URL the endpoint's own Model serves; the role may read a pinned archive."""
    if artifact.source == "s3" and artifact.model_data is not None:
        role.add_to_principal_policy(
            read_objects_statement(
                sid="ReadPinnedModel",
                resources=[s3_uri_arn(Stack.of(scope), artifact.model_data.s3_uri)],
            )
        )
        return artifact.model_data.s3_uri
    return asset.s3_object_url


def variant_props(
    name: str, variant: Variant | ShadowVariant, model_name: str, weight: float
) -> VariantProps:
    """A variant of the config as the EndpointConfig lists it."""
    serverless = variant.serverless if isinstance(variant, Variant) else None
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


class VariantModels:
    """The Models the endpoint's variants serve, each created on first use.

    Not a Construct of its own: each Model and bundle asset is created directly in `scope`
    (the stack), as `Model-<name>` and `Bundle-<model>`, so their logical ids do not depend on
    this class.

    Args:
        scope: where the Models are created.
        spec: the model's resolved config (variants, serving settings).
        own_model: the Model serving this model's own bundle.
        own_image: its serving image; variants on another image may pull that one too.
        region: the environment's region (SAGEMAKER_REGION).
        role: the execution role every Model runs as.
        others: bundles of other model folders that variants serve, by model name.
    """

    def __init__(
        self,
        scope: Construct,
        *,
        spec: ModelSpec,
        own_model: ServingModel,
        own_image: str,
        region: str,
        role: iam.Role,
        others: Mapping[str, VariantModel],
    ) -> None:
        self._scope = scope
        self._spec = spec
        self._own_image = own_image
        self._region = region
        self._role = role
        self._others = others
        self._models: dict[str, str] = {"": own_model.model_name}

    def production_variants(self) -> list[VariantProps]:
        """The production variants; their weights split live traffic."""
        return [
            variant_props(name, v, self.for_variant(name, v), v.weight)
            for name, v in self._spec.production_variants().items()
        ]

    def shadow_variants(self) -> list[VariantProps]:
        """The shadow variants. A shadow's weight relative to the one production variant's is
        the share of requests copied to it."""
        production = next(iter(self._spec.production_variants().values()))
        return [
            variant_props(
                name, v, self.for_variant(name, v), production.weight * v.sampling_percent / 100
            )
            for name, v in self._spec.shadow().items()
        ]

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
        scope, spec, stack = self._scope, self._spec, Stack.of(self._scope)
        if variant.model is not None:
            other = self._others.get(variant.model)
            if other is None:
                raise ValueError(f"variant {name!r} serves model {variant.model!r}, not bundled")
            asset = BundleAsset(scope, f"Bundle-{variant.model}", bundle=other.bundle)
            url, object_arn = asset.s3_object_url, asset.object_arn
            image, entry_point, id_ = other.image_uri, other.entry_point, f"Model-{variant.model}"
        else:
            assert variant.model_data is not None
            url = variant.model_data.s3_uri
            object_arn = s3_uri_arn(stack, url)
            image, entry_point, id_ = self._own_image, spec.artifact.entry_point, f"Model-{name}"
        number = len(self._models)
        self._role.add_to_principal_policy(
            read_objects_statement(sid=f"ReadVariantModel{number}", resources=[object_arn])
        )
        if image != self._own_image:
            self._role.add_to_principal_policy(
                pull_repository_statement(stack, image, sid=f"PullVariantImage{number}")
            )
        model = ServingModel(
            scope,
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
