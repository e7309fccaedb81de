"""Where a model's container may reach: network isolation, and one VPC for every Model."""

from __future__ import annotations

import json

from cdk_nag import NagRuleCompliance

from stacks.checks.rule import Resource, Rule, TemplateIndex
from stacks.checks.values import is_true, listed


def _model_network_isolation(res: Resource, _: TemplateIndex) -> NagRuleCompliance:
    if is_true(res.props.get("EnableNetworkIsolation")):
        return NagRuleCompliance.COMPLIANT
    return NagRuleCompliance.NON_COMPLIANT


def _model_vpc(res: Resource, template: TemplateIndex) -> NagRuleCompliance:
    configs = [m.props.get("VpcConfig") for m in template.of_type("AWS::SageMaker::Model")]
    if not any(configs):
        return NagRuleCompliance.NOT_APPLICABLE
    mine = res.props.get("VpcConfig")
    if not mine or not listed(mine.get("Subnets")) or not listed(mine.get("SecurityGroupIds")):
        return NagRuleCompliance.NON_COMPLIANT
    canonical = {json.dumps(c, sort_keys=True) for c in configs}
    return NagRuleCompliance.COMPLIANT if len(canonical) == 1 else NagRuleCompliance.NON_COMPLIANT


MODEL_NETWORK_ISOLATION = Rule(
    "ModelNetworkIsolation",
    ("AWS::SageMaker::Model",),
    "The SageMaker Model runs without network isolation (EnableNetworkIsolation).",
    "A container without network isolation can send model inputs anywhere and fetch code "
    "at start-up. Turn it on, or acknowledge with the reason the container needs the "
    "network (serverless variants, for example, cannot be isolated).",
    _model_network_isolation,
)

MODEL_VPC = Rule(
    "ModelVPC",
    ("AWS::SageMaker::Model",),
    "A VPC is configured for the endpoint but this Model's VpcConfig is missing, empty, or "
    "differs from the other Models of the stack.",
    "When a model is given a VPC, every Model the endpoint serves (variants included) must "
    "run in it with at least one subnet and one security group; one Model outside would "
    "bypass the network controls the VPC stands for.",
    _model_vpc,
)

RULES = (MODEL_NETWORK_ISOLATION, MODEL_VPC)
