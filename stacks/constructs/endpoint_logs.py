"""The endpoint's log group, where SageMaker writes its containers' output."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from constructs import Construct


class EndpointLogGroup(logs.LogGroup):
    """`/aws/sagemaker/Endpoints/<endpoint>`, the name SageMaker writes to; retained on delete.

    Created by the stack rather than by SageMaker on first write, so its retention is set and
    the execution role may write to this one group only.

    Args:
        endpoint_name: the endpoint's explicit name.
        retention_days: how long log events are kept (one of CloudWatch's retention values).
    """

    def __init__(
        self, scope: Construct, id_: str, *, endpoint_name: str, retention_days: int
    ) -> None:
        super().__init__(
            scope,
            id_,
            log_group_name=f"/aws/sagemaker/Endpoints/{endpoint_name}",
            removal_policy=RemovalPolicy.RETAIN,
        )
        # Config allows exactly CloudWatch's retention values, so the number is set directly.
        resource = self.node.default_child
        assert isinstance(resource, logs.CfnLogGroup)
        resource.retention_in_days = retention_days
