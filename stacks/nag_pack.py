"""`SageMakerChecks`: the project's own synth-time rule pack, for what AwsSolutions does not check.

AwsSolutions has no rules for SageMaker models, endpoint configs or endpoints (its SM1-SM3
cover notebook instances), and none that ties an endpoint to its alarms. This pack adds them,
plus the IAM and SSL rules the project promises in SECURITY.md, so they hold even if a later
AwsSolutions release changes its own. Every rule id is `SageMaker-<Rule>`; a finding fails
synth unless it is acknowledged on the construct with a reason (`stacks.nag.acknowledge`).

The pack is a CDK validation plugin that reads the synthesized templates: the rules look at
resolved CloudFormation properties, which is exactly what a template holds, so the whole pack
is one call from the CDK framework per synth and plain Python over JSON after it. (Walking the
construct tree instead, as cdk-nag's `NagPack` does, costs one jsii round trip per resource
and rule: most of a synth's per-stack time when the pack is written in Python.) The framework
maps each finding's logical id back to its construct and applies acknowledgements, which are
recorded under the plugin's name (`SageMakerChecks::SageMaker-<Rule>`).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import (
    IPolicyValidationContext,
    IPolicyValidationPlugin,
    PolicyValidationPluginReport,
    PolicyViolatingResource,
    PolicyViolation,
)
from cdk_nag import NagRuleCompliance

from stacks.constructs.endpoint import has_instance_storage
from stacks.nag import PACK, PLUGIN

Props = dict[str, Any]


Check = Callable[["_Resource", "_StackIndex"], NagRuleCompliance]


@dataclass(frozen=True)
class Rule:
    """One rule: the resource types it looks at, what it checks, and what a finding says."""

    suffix: str
    types: frozenset[str]
    info: str
    explanation: str
    check: Check

    @property
    def id(self) -> str:
        return f"{PACK}-{self.suffix}"


@dataclass(frozen=True)
class _Resource:
    logical_id: str
    type: str
    props: Props


class _StackIndex:
    """Every resource of one synthesized template, by logical id."""

    def __init__(self, template: Mapping[str, Any]) -> None:
        self.resources: dict[str, _Resource] = {
            logical_id: _Resource(
                logical_id, str(body.get("Type", "")), dict(body.get("Properties") or {})
            )
            for logical_id, body in (template.get("Resources") or {}).items()
            if isinstance(body, Mapping)
        }

    def of_type(self, kind: str) -> list[_Resource]:
        return [r for r in self.resources.values() if r.type == kind]


# --------------------------------------------------------------------------------------------
# Helpers over resolved CloudFormation values.
# --------------------------------------------------------------------------------------------


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.lower() == "false")


def _refers_to(value: Any, logical_id: str) -> bool:
    """`{"Ref": id}` or `{"Fn::GetAtt": [id, ...]}`."""
    if isinstance(value, Mapping):
        if value.get("Ref") == logical_id:
            return True
        get_att = value.get("Fn::GetAtt")
        return isinstance(get_att, list) and bool(get_att) and get_att[0] == logical_id
    return False


def _statements(document: Any) -> list[Props]:
    if not isinstance(document, Mapping):
        return []
    return [dict(s) for s in _listed(document.get("Statement")) if isinstance(s, Mapping)]


def _denies_insecure_transport(statement: Props, service: str) -> bool:
    if statement.get("Effect") != "Deny":
        return False
    actions = [a for a in _listed(statement.get("Action")) if isinstance(a, str)]
    if not any(fnmatch.fnmatchcase(f"{service}:Publish", a) or a in ("*", f"{service}:*")
               for a in actions):  # fmt: skip
        return False
    condition = statement.get("Condition") or {}
    secure = (condition.get("Bool") or {}).get("aws:SecureTransport")
    return _is_false(secure)


def _policy_documents(resource: _Resource) -> list[Any]:
    """Inline policy documents of a policy, managed policy, role, user or group."""
    if resource.type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        return [resource.props.get("PolicyDocument")]
    return [p.get("PolicyDocument") for p in _listed(resource.props.get("Policies")) if p]


def _allows_pass_role(action: Any) -> bool:
    return isinstance(action, str) and fnmatch.fnmatch("iam:passrole", action.lower())


def _is_wildcard_role(resource: Any) -> bool:
    """`*`, or an ARN whose role part is only a wildcard (`...:role/*`)."""
    if not isinstance(resource, str):
        return False
    return resource == "*" or re.search(r":role/\*$", resource) is not None


# --------------------------------------------------------------------------------------------
# The rules.
# --------------------------------------------------------------------------------------------


def _endpoint_config_kms(res: _Resource, _: _StackIndex) -> NagRuleCompliance:
    variants = [
        *_listed(res.props.get("ProductionVariants")),
        *_listed(res.props.get("ShadowProductionVariants")),
    ]
    types = [v.get("InstanceType") for v in variants if v.get("InstanceType")]
    if not types:  # serverless: no storage volume of its own
        return NagRuleCompliance.NOT_APPLICABLE
    has_key = bool(res.props.get("KmsKeyId"))
    if any(has_instance_storage(t) for t in types if isinstance(t, str)):
        # SageMaker refuses KmsKeyId there; the NVMe volumes are encrypted by the hardware.
        return NagRuleCompliance.NON_COMPLIANT if has_key else NagRuleCompliance.COMPLIANT
    return NagRuleCompliance.COMPLIANT if has_key else NagRuleCompliance.NON_COMPLIANT


def _data_capture_kms(res: _Resource, _: _StackIndex) -> NagRuleCompliance:
    capture = res.props.get("DataCaptureConfig")
    if not capture or _is_false(capture.get("EnableCapture")):
        return NagRuleCompliance.NOT_APPLICABLE
    return (
        NagRuleCompliance.COMPLIANT if capture.get("KmsKeyId") else NagRuleCompliance.NON_COMPLIANT
    )


def _model_network_isolation(res: _Resource, _: _StackIndex) -> NagRuleCompliance:
    if _is_true(res.props.get("EnableNetworkIsolation")):
        return NagRuleCompliance.COMPLIANT
    return NagRuleCompliance.NON_COMPLIANT


def _model_vpc(res: _Resource, stack: _StackIndex) -> NagRuleCompliance:
    configs = [m.props.get("VpcConfig") for m in stack.of_type("AWS::SageMaker::Model")]
    if not any(configs):
        return NagRuleCompliance.NOT_APPLICABLE
    mine = res.props.get("VpcConfig")
    if not mine or not _listed(mine.get("Subnets")) or not _listed(mine.get("SecurityGroupIds")):
        return NagRuleCompliance.NON_COMPLIANT
    canonical = {json.dumps(c, sort_keys=True) for c in configs}
    return NagRuleCompliance.COMPLIANT if len(canonical) == 1 else NagRuleCompliance.NON_COMPLIANT


_BROAD_MANAGED_POLICY = re.compile(r"FullAccess|AdministratorAccess|PowerUserAccess")


def _no_full_access(res: _Resource, _: _StackIndex) -> NagRuleCompliance:
    arns = _listed(res.props.get("ManagedPolicyArns"))
    if any(_BROAD_MANAGED_POLICY.search(json.dumps(arn)) for arn in arns):
        return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT if arns else NagRuleCompliance.NOT_APPLICABLE


def _no_pass_role_on_wildcard(res: _Resource, _: _StackIndex) -> NagRuleCompliance:
    for document in _policy_documents(res):
        for statement in _statements(document):
            if statement.get("Effect") != "Allow":
                continue
            if not any(_allows_pass_role(a) for a in _listed(statement.get("Action"))):
                continue
            if "NotResource" in statement or any(
                _is_wildcard_role(r) for r in _listed(statement.get("Resource"))
            ):
                return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT


def _ssl_only(policy_type: str, target_key: str, service: str) -> Check:
    def check(res: _Resource, stack: _StackIndex) -> NagRuleCompliance:
        for policy in stack.of_type(policy_type):
            targets = _listed(policy.props.get(target_key))
            if not any(_refers_to(t, res.logical_id) for t in targets):
                continue
            if any(
                _denies_insecure_transport(s, service)
                for s in _statements(policy.props.get("PolicyDocument"))
            ):
                return NagRuleCompliance.COMPLIANT
        return NagRuleCompliance.NON_COMPLIANT

    return check


def _alarm_dimensions(alarm: _Resource) -> Iterable[Props]:
    yield from _listed(alarm.props.get("Dimensions"))
    for metric in _listed(alarm.props.get("Metrics")):
        stat = (metric or {}).get("MetricStat") or {}
        yield from _listed((stat.get("Metric") or {}).get("Dimensions"))


def _watches(alarm: _Resource, endpoint_name: Any) -> bool:
    return any(
        d.get("Name") == "EndpointName" and d.get("Value") == endpoint_name
        for d in _alarm_dimensions(alarm)
        if isinstance(d, Mapping)
    )


def _endpoint_alarms(res: _Resource, stack: _StackIndex) -> NagRuleCompliance:
    name = res.props.get("EndpointName")
    if name is None:
        return NagRuleCompliance.NON_COMPLIANT  # alarms cannot name a generated endpoint name
    alarms = stack.of_type("AWS::CloudWatch::Alarm")
    if any(_watches(alarm, name) for alarm in alarms):
        return NagRuleCompliance.COMPLIANT
    return NagRuleCompliance.NON_COMPLIANT


def _rollback_alarms(res: _Resource, stack: _StackIndex) -> NagRuleCompliance:
    deployment = res.props.get("DeploymentConfig") or {}
    if not (deployment.get("BlueGreenUpdatePolicy") or deployment.get("RollingUpdatePolicy")):
        return NagRuleCompliance.NOT_APPLICABLE
    named = [
        a.get("AlarmName")
        for a in _listed((deployment.get("AutoRollbackConfiguration") or {}).get("Alarms"))
    ]
    if not named:
        return NagRuleCompliance.NON_COMPLIANT
    alarms = stack.of_type("AWS::CloudWatch::Alarm")
    defined = {json.dumps(a.props.get("AlarmName")) for a in alarms}
    for name in named:
        known = json.dumps(name) in defined or any(_refers_to(name, a.logical_id) for a in alarms)
        if not known:
            return NagRuleCompliance.NON_COMPLIANT
    return NagRuleCompliance.COMPLIANT


RULES: tuple[Rule, ...] = (
    Rule(
        "EndpointConfigKMS",
        frozenset({"AWS::SageMaker::EndpointConfig"}),
        "The EndpointConfig does not encrypt its instances' storage volumes with a KMS key "
        "(KmsKeyId), or sets one for an instance type with local NVMe storage.",
        "Model artifacts and scratch data sit on the hosting instances' volumes; a customer-"
        "managed key keeps them under the account's key policy and CloudTrail. Instance types "
        "with local NVMe storage encrypt it in hardware, and SageMaker refuses a KmsKeyId there.",
        _endpoint_config_kms,
    ),
    Rule(
        "DataCaptureKMS",
        frozenset({"AWS::SageMaker::EndpointConfig"}),
        "Data capture is on but captured requests and responses are not encrypted with a KMS "
        "key (DataCaptureConfig.KmsKeyId).",
        "Captured payloads are production inputs and predictions, often personal data; they "
        "must be encrypted with a key whose use is logged and can be revoked.",
        _data_capture_kms,
    ),
    Rule(
        "ModelNetworkIsolation",
        frozenset({"AWS::SageMaker::Model"}),
        "The SageMaker Model runs without network isolation (EnableNetworkIsolation).",
        "A container without network isolation can send model inputs anywhere and fetch code "
        "at start-up. Turn it on, or acknowledge with the reason the container needs the "
        "network (serverless variants, for example, cannot be isolated).",
        _model_network_isolation,
    ),
    Rule(
        "ModelVPC",
        frozenset({"AWS::SageMaker::Model"}),
        "A VPC is configured for the endpoint but this Model's VpcConfig is missing, empty, or "
        "differs from the other Models of the stack.",
        "When a model is given a VPC, every Model the endpoint serves (variants included) must "
        "run in it with at least one subnet and one security group; one Model outside would "
        "bypass the network controls the VPC stands for.",
        _model_vpc,
    ),
    Rule(
        "IAMNoFullAccess",
        frozenset({"AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"}),
        "A broad AWS managed policy (*FullAccess, AdministratorAccess, PowerUserAccess) is "
        "attached.",
        "Managed *FullAccess policies such as AmazonSageMakerFullAccess grant far more than a "
        "model needs (every bucket named *sagemaker*, iam:PassRole, every endpoint); write "
        "statements that name their resources instead.",
        _no_full_access,
    ),
    Rule(
        "IAMNoPassRoleOnWildcard",
        frozenset(
            {
                "AWS::IAM::Policy",
                "AWS::IAM::ManagedPolicy",
                "AWS::IAM::Role",
                "AWS::IAM::User",
                "AWS::IAM::Group",
            }
        ),
        "A policy allows iam:PassRole on every role ('*' or ':role/*', or via NotResource).",
        "Passing any role lets the holder hand an administrator role to a SageMaker job or "
        "model and act with it; name the roles that may be passed.",
        _no_pass_role_on_wildcard,
    ),
    Rule(
        "SNSSSLOnly",
        frozenset({"AWS::SNS::Topic"}),
        "The SNS topic has no topic policy denying publishing without TLS "
        "(aws:SecureTransport false).",
        "Alarm notifications carry endpoint names and states; only TLS connections may publish.",
        _ssl_only("AWS::SNS::TopicPolicy", "Topics", "sns"),
    ),
    Rule(
        "S3SSLOnly",
        frozenset({"AWS::S3::Bucket"}),
        "The S3 bucket has no bucket policy denying requests without TLS "
        "(aws:SecureTransport false).",
        "Buckets hold model artifacts and captured data; plain HTTP requests must be refused.",
        _ssl_only("AWS::S3::BucketPolicy", "Bucket", "s3"),
    ),
    Rule(
        "EndpointAlarms",
        frozenset({"AWS::SageMaker::Endpoint"}),
        "No CloudWatch alarm in the stack watches this endpoint (dimension EndpointName), or "
        "the endpoint has no literal name for alarms to use.",
        "An endpoint nobody is alarmed about fails silently: each endpoint needs alarms on its "
        "own metrics, which need its name.",
        _endpoint_alarms,
    ),
    Rule(
        "RollbackAlarms",
        frozenset({"AWS::SageMaker::Endpoint"}),
        "The endpoint rolls out with deployment guardrails but names no rollback alarm, or "
        "names one this stack does not define.",
        "Blue/green and rolling updates only roll back on the alarms in "
        "AutoRollbackConfiguration; without them a bad model version takes all traffic.",
        _rollback_alarms,
    ),
)


@dataclass(frozen=True)
class Finding:
    """One rule broken by one resource of one template."""

    rule: Rule
    logical_id: str


def check_template(template: Mapping[str, Any]) -> Iterator[Finding]:
    """Every finding of every rule in one synthesized template (acknowledgements not applied:
    the CDK framework applies them, by construct path)."""
    index = _StackIndex(template)
    for resource in index.resources.values():
        for rule in RULES:
            if resource.type not in rule.types:
                continue
            if rule.check(resource, index) is NagRuleCompliance.NON_COMPLIANT:
                yield Finding(rule, resource.logical_id)


@jsii.implements(IPolicyValidationPlugin)
class SageMakerChecks:
    """The project's rule pack: `Validations.of(app).add_plugins(SageMakerChecks())`."""

    @property
    def name(self) -> str:
        return PLUGIN

    @property
    def rule_ids(self) -> list[str]:
        return [rule.id for rule in RULES]

    @property
    def version(self) -> str:
        return "1.0.0"

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        return report(context.template_paths)


def report(template_paths: Sequence[str]) -> PolicyValidationPluginReport:
    """Run every rule over the templates at `template_paths`, grouped by rule."""
    found: dict[Rule, list[PolicyViolatingResource]] = {}
    for path in template_paths:
        template = json.loads(Path(path).read_text(encoding="utf-8"))
        for finding in check_template(template):
            found.setdefault(finding.rule, []).append(
                PolicyViolatingResource(
                    resource_logical_id=finding.logical_id,
                    template_path=path,
                    locations=["Properties"],
                )
            )
    violations = [
        PolicyViolation(
            rule_name=rule.id,
            description=rule.info,
            fix=rule.explanation,
            severity="error",
            violating_resources=resources,
        )
        for rule, resources in found.items()
    ]
    return PolicyValidationPluginReport(success=not violations, violations=violations)
