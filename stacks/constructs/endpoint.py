"""`AWS::SageMaker::EndpointConfig` and `AWS::SageMaker::Endpoint`."""

from __future__ import annotations

from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

VARIANT_NAME = "primary"


class ModelEndpoint(Construct):
    """An endpoint with one production variant serving `model_name`.

    The EndpointConfig has no explicit name: a model update replaces it, and the Endpoint,
    whose name is fixed, moves to the new config in place.

    Args:
        endpoint_name: the endpoint's explicit name (alarms refer to it).
        model_name: the SageMaker Model the variant serves.
        instance_type: hosting instance type of the variant.
        instance_count: instances behind the variant.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        endpoint_name: str,
        model_name: str,
        instance_type: str,
        instance_count: int,
    ) -> None:
        super().__init__(scope, id_)
        self.config = sagemaker.CfnEndpointConfig(
            self,
            "Config",
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=VARIANT_NAME,
                    model_name=model_name,
                    instance_type=instance_type,
                    initial_instance_count=instance_count,
                    initial_variant_weight=1.0,
                )
            ],
        )
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=endpoint_name,
            endpoint_config_name=self.config.attr_endpoint_config_name,
        )
        self.endpoint_name = endpoint_name
