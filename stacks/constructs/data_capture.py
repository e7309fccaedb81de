"""Data capture: sampled requests and responses into the artifact bucket, encrypted with KMS."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from configs.serving import CaptureTypes
from configs.serving import DataCapture as DataCaptureConfig

CAPTURE_MODES = {"input": "Input", "output": "Output"}
# The key prefix of every endpoint's captured data in its artifact bucket.
PREFIX = "data-capture"


def captured_prefix(endpoint_name: str) -> str:
    """Where SageMaker writes an endpoint's captured data: it appends
    `<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl` to the destination itself ("Capture data
    from real-time endpoint", View Captured Data,
    https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html)."""
    return f"{PREFIX}/{endpoint_name}"


class DataCapture(Construct):
    """The EndpointConfig's `DataCaptureConfig` and the grants it needs.

    The destination is the bucket's `data-capture/` prefix and no more: SageMaker adds the
    endpoint and variant names, so captured data lands under `captured_prefix(endpoint)`, where
    drift monitoring reads it. Payloads of the content types in `types` are captured as text
    (encoding CSV or JSON), others as BASE64. SageMaker writes the data as the model's execution
    role, which may already write to its artifact bucket; here it also gets the key, with no
    wildcard actions.

    Args:
        bucket: the model's artifact bucket.
        key: encrypts captured objects.
        config: sampling percentage and what is captured.
        types: the CSV and JSON content types the model is sent and answers with.
        role: the execution role SageMaker writes the data as.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        bucket: s3.IBucket,
        key: kms.IKey,
        config: DataCaptureConfig,
        types: CaptureTypes,
        role: iam.IRole,
    ) -> None:
        super().__init__(scope, id_)
        self.destination = f"s3://{bucket.bucket_name}/{PREFIX}"
        # CaptureContentTypeHeader's lists take 1-10 items each: an empty one is left out.
        header = sagemaker.CfnEndpointConfig.CaptureContentTypeHeaderProperty(
            csv_content_types=list(types.csv) or None,
            json_content_types=list(types.json) or None,
        )
        self.config = sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
            enable_capture=True,
            initial_sampling_percentage=config.sampling_percent,
            destination_s3_uri=self.destination,
            kms_key_id=key.key_arn,
            capture_options=[
                sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode=CAPTURE_MODES[c])
                for c in config.capture
            ],
            capture_content_type_header=header if types.csv or types.json else None,
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="EncryptDataCapture",
                actions=["kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"],
                resources=[key.key_arn],
            )
        )
