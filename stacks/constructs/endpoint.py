"""`AWS::SageMaker::EndpointConfig` and `AWS::SageMaker::Endpoint`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from stacks.checks.sagemaker_facts import has_instance_storage

Config = sagemaker.CfnEndpointConfig


@dataclass(frozen=True)
class ServerlessProps:
    memory_mb: int
    max_concurrency: int
    provisioned_concurrency: int | None = None


@dataclass(frozen=True)
class VariantProps:
    """One production or shadow variant: a Model on instances or serverless, and its weight."""

    name: str
    model_name: str
    weight: float
    instance_type: str | None = None
    instance_count: int | None = None
    serverless: ServerlessProps | None = None

    def render(self) -> Config.ProductionVariantProperty:
        return Config.ProductionVariantProperty(
            variant_name=self.name,
            model_name=self.model_name,
            initial_variant_weight=self.weight,
            instance_type=self.instance_type,
            initial_instance_count=self.instance_count,
            serverless_config=(
                Config.ServerlessConfigProperty(
                    memory_size_in_mb=self.serverless.memory_mb,
                    max_concurrency=self.serverless.max_concurrency,
                    provisioned_concurrency=self.serverless.provisioned_concurrency,
                )
                if self.serverless
                else None
            ),
        )


class ModelEndpoint(Construct):
    """An endpoint serving production variants (and shadow variants) through one config.

    The EndpointConfig has no explicit name: a new model version replaces it, and the Endpoint,
    whose name is fixed, moves to the new config in place, through its deployment guardrails
    (`deployment_config`) rather than as a new endpoint.

    Args:
        endpoint_name: the endpoint's explicit name (alarms refer to it).
        variants: production variants; their weights split live traffic.
        shadow_variants: variants that get a copy of live requests.
        data_capture: sampled requests and responses for drift monitoring.
        volume_key: encrypts the hosting instances' storage volumes; not set when no variant
            runs on instances (serverless) or one uses local NVMe storage, which SageMaker
            encrypts in hardware and for which it refuses a key.
        retain_scaled_capacity: keep the instance counts autoscaling chose when the endpoint is
            updated (`RetainAllVariantProperties`); weights and data capture still come from the
            new config (`ExcludeRetainedVariantProperties`).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        endpoint_name: str,
        variants: Sequence[VariantProps],
        shadow_variants: Sequence[VariantProps] = (),
        data_capture: Config.DataCaptureConfigProperty | None = None,
        volume_key: kms.IKey | None = None,
        retain_scaled_capacity: bool = False,
    ) -> None:
        super().__init__(scope, id_)
        if not variants:
            raise ValueError("an endpoint needs at least one production variant")
        instance_types = [v.instance_type for v in (*variants, *shadow_variants) if v.instance_type]
        encrypt_volumes = bool(instance_types) and not any(
            has_instance_storage(t) for t in instance_types
        )
        self.config = Config(
            self,
            "Config",
            production_variants=[v.render() for v in variants],
            shadow_production_variants=[v.render() for v in shadow_variants] or None,
            data_capture_config=data_capture,
            kms_key_id=volume_key.key_arn if volume_key is not None and encrypt_volumes else None,
        )
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=endpoint_name,
            endpoint_config_name=self.config.attr_endpoint_config_name,
        )
        if retain_scaled_capacity:
            self.endpoint.retain_all_variant_properties = True
            self.endpoint.exclude_retained_variant_properties = [
                sagemaker.CfnEndpoint.VariantPropertyProperty(variant_property_type=kind)
                for kind in ("DesiredWeight", "DataCaptureConfig")
            ]
        self.endpoint_name = endpoint_name
        self.endpoint_config_name = self.config.attr_endpoint_config_name
        self.variants = tuple(variants)
        self.shadow_variants = tuple(shadow_variants)

    def use_deployment_config(self, config: sagemaker.CfnEndpoint.DeploymentConfigProperty) -> None:
        """How updates roll out (set once the rollback alarms exist)."""
        self.endpoint.deployment_config = config
