"""Target tracking on SageMakerVariantInvocationsPerInstance for one production variant."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_iam as iam
from constructs import Construct

from configs.serving import Autoscaling

SERVICE_LINKED_ROLE = (
    "aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)


class VariantAutoscaling(Construct):
    """Registers the variant's instance count as a scalable target and tracks invocations.

    The endpoint sets `RetainAllVariantProperties` while this exists, so a deploy keeps the
    instance count the scaler chose instead of resetting it to the config's initial count.
    Application Auto Scaling acts through its service-linked role for SageMaker endpoints (which
    it creates on first use), not through a role of this stack.

    Args:
        endpoint_name: the endpoint's explicit name.
        variant_name: the production variant to scale.
        config: bounds, target and cooldowns.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        endpoint_name: str,
        variant_name: str,
        config: Autoscaling,
    ) -> None:
        super().__init__(scope, id_)
        self.target = appscaling.ScalableTarget(
            self,
            "Target",
            service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            resource_id=f"endpoint/{endpoint_name}/variant/{variant_name}",
            min_capacity=config.min_instances,
            max_capacity=config.max_instances,
            role=iam.Role.from_role_arn(
                self,
                "ServiceLinkedRole",
                Stack.of(self).format_arn(
                    service="iam",
                    region="",
                    resource="role",
                    resource_name=SERVICE_LINKED_ROLE,
                ),
                mutable=False,
            ),
        )
        self.target.scale_to_track_metric(
            "InvocationsPerInstance",
            target_value=config.target_invocations_per_instance,
            predefined_metric=appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
            scale_in_cooldown=Duration.seconds(config.scale_in_cooldown_seconds),
            scale_out_cooldown=Duration.seconds(config.scale_out_cooldown_seconds),
        )
