"""Model Monitor's monitoring jobs: their storage and results encrypted, their network closed.

A monitoring job reads captured production requests; AwsSolutions has no rule for its job
definitions. The four job definition types share `JobResources.ClusterConfig` and
`NetworkConfig`, and name their output config after themselves
(AWS::SageMaker::DataQualityJobDefinition `DataQualityJobOutputConfig`, and so on).
"""

from __future__ import annotations

from typing import Any

from cdk_nag import NagRuleCompliance

from stacks.checks.rule import Resource, Rule, TemplateIndex
from stacks.checks.values import is_true

JOB_DEFINITIONS = {
    "AWS::SageMaker::DataQualityJobDefinition": "DataQualityJobOutputConfig",
    "AWS::SageMaker::ModelQualityJobDefinition": "ModelQualityJobOutputConfig",
    "AWS::SageMaker::ModelBiasJobDefinition": "ModelBiasJobOutputConfig",
    "AWS::SageMaker::ModelExplainabilityJobDefinition": "ModelExplainabilityJobOutputConfig",
}


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _job_encrypted(res: Resource, _: TemplateIndex) -> NagRuleCompliance:
    cluster = _mapping(_mapping(res.props.get("JobResources")).get("ClusterConfig"))
    output = _mapping(res.props.get(JOB_DEFINITIONS[res.type]))
    encrypted = bool(cluster.get("VolumeKmsKeyId")) and bool(output.get("KmsKeyId"))
    return NagRuleCompliance.COMPLIANT if encrypted else NagRuleCompliance.NON_COMPLIANT


def _job_isolated(res: Resource, _: TemplateIndex) -> NagRuleCompliance:
    network = _mapping(res.props.get("NetworkConfig"))
    isolated = is_true(network.get("EnableNetworkIsolation"))
    return NagRuleCompliance.COMPLIANT if isolated else NagRuleCompliance.NON_COMPLIANT


MONITORING_JOB_KMS = Rule(
    "MonitoringJobKMS",
    tuple(JOB_DEFINITIONS),
    "The monitoring job definition does not encrypt its instance volume "
    "(JobResources.ClusterConfig.VolumeKmsKeyId) and its results (<Type>JobOutputConfig."
    "KmsKeyId) with a KMS key.",
    "Monitoring jobs copy captured production requests onto their volume and write statistics "
    "and violations about them; both must be under a key whose use is logged and revocable.",
    _job_encrypted,
)

MONITORING_JOB_NETWORK_ISOLATION = Rule(
    "MonitoringJobNetworkIsolation",
    tuple(JOB_DEFINITIONS),
    "The monitoring job runs without network isolation (NetworkConfig.EnableNetworkIsolation).",
    "The analyzer needs no network beyond the S3 data SageMaker stages for it; an open network "
    "lets a job send captured requests anywhere.",
    _job_isolated,
)

RULES = (MONITORING_JOB_KMS, MONITORING_JOB_NETWORK_ISOLATION)
