"""The model artifact bucket and the bucket that receives its server access logs."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.checks.acknowledge import skip_checkov


class ArtifactStorage(Construct):
    """Encrypted, versioned, private, SSL-only storage for a model's artifacts.

    Holds training outputs, data capture and anything else the model writes; bundles built at
    synth go through the CDK asset bucket. Both buckets are retained when the stack is deleted:
    retiring a model never deletes its data.

    Args:
        noncurrent_version_days: how long an overwritten or deleted object version is kept.
    """

    def __init__(self, scope: Construct, id_: str, *, noncurrent_version_days: int = 90) -> None:
        super().__init__(scope, id_)
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=Duration.days(365),
                    noncurrent_version_expiration=Duration.days(30),
                )
            ],
        )
        access_logs = self.access_logs.node.default_child
        assert isinstance(access_logs, s3.CfnBucket)
        skip_checkov(
            access_logs,
            "CKV_AWS_18",
            "This bucket is the destination of the artifact bucket's server access logs; "
            "logging access to it would need a third bucket (which would need a fourth) or "
            "would log its own log deliveries into itself.",
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            removal_policy=RemovalPolicy.RETAIN,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="artifacts/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-noncurrent-versions",
                    noncurrent_version_expiration=Duration.days(noncurrent_version_days),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
        )
