"""The stack's customer-managed KMS key: encrypts the paging topic, captured data and the
endpoint's logs."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from constructs import Construct


class EncryptionKey(Construct):
    """A rotating symmetric key, retained on delete: data encrypted with it outlives the stack.

    A customer-managed key rather than an AWS-managed one because CloudWatch alarms can only
    publish to an SNS topic whose key policy lets `cloudwatch.amazonaws.com` use the key.
    """

    def __init__(self, scope: Construct, id_: str, *, description: str) -> None:
        super().__init__(scope, id_)
        self.key = kms.Key(
            self,
            "Key",
            description=description,
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
