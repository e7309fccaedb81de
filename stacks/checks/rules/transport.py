"""Encryption in transit: topics and buckets refuse requests without TLS."""

from __future__ import annotations

import fnmatch
from typing import Any

from cdk_nag import NagRuleCompliance

from stacks.checks.rule import Check, Resource, Rule, TemplateIndex
from stacks.checks.values import is_false, listed, refers_to, statements


def _denies_insecure_transport(statement: dict[str, Any], service: str) -> bool:
    if statement.get("Effect") != "Deny":
        return False
    actions = [a for a in listed(statement.get("Action")) if isinstance(a, str)]
    if not any(fnmatch.fnmatchcase(f"{service}:Publish", a) or a in ("*", f"{service}:*")
               for a in actions):  # fmt: skip
        return False
    condition = statement.get("Condition") or {}
    secure = (condition.get("Bool") or {}).get("aws:SecureTransport")
    return is_false(secure)


def _ssl_only(policy_type: str, target_key: str, service: str) -> Check:
    """Compliant when a policy of `policy_type` that targets the resource denies plain HTTP."""

    def check(res: Resource, template: TemplateIndex) -> NagRuleCompliance:
        for policy in template.of_type(policy_type):
            targets = listed(policy.props.get(target_key))
            if not any(refers_to(t, res.logical_id) for t in targets):
                continue
            if any(
                _denies_insecure_transport(s, service)
                for s in statements(policy.props.get("PolicyDocument"))
            ):
                return NagRuleCompliance.COMPLIANT
        return NagRuleCompliance.NON_COMPLIANT

    return check


SNS_SSL_ONLY = Rule(
    "SNSSSLOnly",
    ("AWS::SNS::Topic",),
    "The SNS topic has no topic policy denying publishing without TLS (aws:SecureTransport false).",
    "Alarm notifications carry endpoint names and states; only TLS connections may publish.",
    _ssl_only("AWS::SNS::TopicPolicy", "Topics", "sns"),
)

S3_SSL_ONLY = Rule(
    "S3SSLOnly",
    ("AWS::S3::Bucket",),
    "The S3 bucket has no bucket policy denying requests without TLS (aws:SecureTransport false).",
    "Buckets hold model artifacts and captured data; plain HTTP requests must be refused.",
    _ssl_only("AWS::S3::BucketPolicy", "Bucket", "s3"),
)

RULES = (SNS_SSL_ONLY, S3_SSL_ONLY)
