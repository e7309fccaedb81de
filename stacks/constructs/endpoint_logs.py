"""The endpoint's log group, where SageMaker writes its containers' output, encrypted with the
stack's key."""

from __future__ import annotations

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct


class EndpointLogGroup(logs.LogGroup):
    """`/aws/sagemaker/Endpoints/<endpoint>`, the name SageMaker writes to; retained on delete.

    Created by the stack rather than by SageMaker on first write, so its retention and key are
    set and the execution role may write to this one group only. Containers print requests and
    stack traces, so the events are encrypted with the stack's customer-managed key rather than
    CloudWatch Logs' default encryption.

    Args:
        endpoint_name: the endpoint's explicit name.
        retention_days: how long log events are kept (one of CloudWatch's retention values).
        key: encrypts the events; its policy lets CloudWatch Logs use it for this group only.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        endpoint_name: str,
        retention_days: int,
        key: kms.IKey,
    ) -> None:
        name = f"/aws/sagemaker/Endpoints/{endpoint_name}"
        super().__init__(
            scope,
            id_,
            log_group_name=name,
            encryption_key=key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # Config allows exactly CloudWatch's retention values, so the number is set directly.
        resource = self.node.default_child
        assert isinstance(resource, logs.CfnLogGroup)
        resource.retention_in_days = retention_days
        key.add_to_resource_policy(_logs_may_use_key(self, log_group_name=name))


def _logs_may_use_key(scope: Construct, *, log_group_name: str) -> iam.PolicyStatement:
    """The key policy statement CloudWatch Logs needs to encrypt and read one log group.

    As "Encrypt log data in CloudWatch Logs using AWS Key Management Service" (CloudWatch Logs
    User Guide) gives it: the regional `logs.<region>.amazonaws.com` principal, the Encrypt*,
    Decrypt*, ReEncrypt*, GenerateDataKey* and Describe* actions, and an `ArnEquals` condition
    on the `kms:EncryptionContext:aws:logs:arn` that CloudWatch Logs sends, so the key serves
    this group and no other. The group's ARN is formatted from its name rather than read from
    the group, which refers to the key: a reference back would be a dependency cycle.
    """
    stack = Stack.of(scope)
    arn = stack.format_arn(
        service="logs",
        resource="log-group",
        resource_name=log_group_name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    return iam.PolicyStatement(
        sid="CloudWatchLogsEncryptEndpointLogs",
        principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
        actions=[
            "kms:Encrypt*",
            "kms:Decrypt*",
            "kms:ReEncrypt*",
            "kms:GenerateDataKey*",
            "kms:Describe*",
        ],
        resources=["*"],
        conditions={"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": arn}},
    )
