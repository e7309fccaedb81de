"""Data capture: sampled requests and responses into the artifact bucket, encrypted with KMS."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from configs.serving import DataCapture as DataCaptureConfig

CAPTURE_MODES = {"input": "Input", "output": "Output"}


class DataCapture(Construct):
    """The EndpointConfig's `DataCaptureConfig` and the grants it needs.

    Captured data lands under `s3://<artifact bucket>/data-capture/<endpoint>/`, where drift
    monitoring reads it. SageMaker writes it as the model's execution role, which may already
    write to its artifact bucket; here it also gets the key, with no wildcard actions.

    Args:
        bucket: the model's artifact bucket.
        key: encrypts captured objects.
        endpoint_name: used as the key prefix.
        config: sampling percentage and what is captured.
        role: the execution role SageMaker writes the data as.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        bucket: s3.IBucket,
        key: kms.IKey,
        endpoint_name: str,
        config: DataCaptureConfig,
        role: iam.IRole,
    ) -> None:
        super().__init__(scope, id_)
        self.destination = f"s3://{bucket.bucket_name}/data-capture/{endpoint_name}"
        self.config = sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
            enable_capture=True,
            initial_sampling_percentage=config.sampling_percent,
            destination_s3_uri=self.destination,
            kms_key_id=key.key_arn,
            capture_options=[
                sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode=CAPTURE_MODES[c])
                for c in config.capture
            ],
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="EncryptDataCapture",
                actions=["kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"],
                resources=[key.key_arn],
            )
        )
