"""Data at rest under a customer-managed key: instance volumes and captured data."""

from __future__ import annotations

from cdk_nag import NagRuleCompliance

from stacks.checks.rule import Resource, Rule, TemplateIndex
from stacks.checks.sagemaker_facts import has_instance_storage
from stacks.checks.values import is_false, listed


def _endpoint_config_kms(res: Resource, _: TemplateIndex) -> NagRuleCompliance:
    variants = [
        *listed(res.props.get("ProductionVariants")),
        *listed(res.props.get("ShadowProductionVariants")),
    ]
    types = [v.get("InstanceType") for v in variants if v.get("InstanceType")]
    if not types:  # serverless: no storage volume of its own
        return NagRuleCompliance.NOT_APPLICABLE
    has_key = bool(res.props.get("KmsKeyId"))
    if any(has_instance_storage(t) for t in types if isinstance(t, str)):
        # SageMaker refuses KmsKeyId there; the NVMe volumes are encrypted by the hardware.
        return NagRuleCompliance.NON_COMPLIANT if has_key else NagRuleCompliance.COMPLIANT
    return NagRuleCompliance.COMPLIANT if has_key else NagRuleCompliance.NON_COMPLIANT


def _data_capture_kms(res: Resource, _: TemplateIndex) -> NagRuleCompliance:
    capture = res.props.get("DataCaptureConfig")
    if not capture or is_false(capture.get("EnableCapture")):
        return NagRuleCompliance.NOT_APPLICABLE
    return (
        NagRuleCompliance.COMPLIANT if capture.get("KmsKeyId") else NagRuleCompliance.NON_COMPLIANT
    )


ENDPOINT_CONFIG_KMS = Rule(
    "EndpointConfigKMS",
    ("AWS::SageMaker::EndpointConfig",),
    "The EndpointConfig does not encrypt its instances' storage volumes with a KMS key "
    "(KmsKeyId), or sets one for an instance type with local NVMe storage.",
    "Model artifacts and scratch data sit on the hosting instances' volumes; a customer-"
    "managed key keeps them under the account's key policy and CloudTrail. Instance types "
    "with local NVMe storage encrypt it in hardware, and SageMaker refuses a KmsKeyId there.",
    _endpoint_config_kms,
)

DATA_CAPTURE_KMS = Rule(
    "DataCaptureKMS",
    ("AWS::SageMaker::EndpointConfig",),
    "Data capture is on but captured requests and responses are not encrypted with a KMS "
    "key (DataCaptureConfig.KmsKeyId).",
    "Captured payloads are production inputs and predictions, often personal data; they "
    "must be encrypted with a key whose use is logged and can be revoked.",
    _data_capture_kms,
)

RULES = (ENDPOINT_CONFIG_KMS, DATA_CAPTURE_KMS)
