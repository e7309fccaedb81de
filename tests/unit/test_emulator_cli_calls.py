"""API calls the CDK CLI makes that moto 5.2.5 lacks, answered only while the emulator's
extensions are installed: UpdateTerminationProtection (Prod stacks), CloudTrail LookupEvents."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws
from moto.cloudformation.responses import CloudFormationResponse

from ops.emulator.extensions import installed


def test_termination_protection_is_updated_and_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    body = json.dumps({"Resources": {"T": {"Type": "AWS::SNS::Topic", "Properties": {}}}})
    with installed(), mock_aws():
        cfn = boto3.client("cloudformation")
        cfn.create_stack(StackName="Prod-iris", TemplateBody=body)
        cfn.update_termination_protection(StackName="Prod-iris", EnableTerminationProtection=True)
        (stack,) = cfn.describe_stacks(StackName="Prod-iris")["Stacks"]
        assert stack["EnableTerminationProtection"] is True
    assert "update_termination_protection" not in vars(CloudFormationResponse)


def test_cloudtrail_lookup_events_answers_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CDK CLI asks after a failed deployment; a 500 makes it retry for ~25 s."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with installed(), mock_aws():
        found = boto3.client("cloudtrail", region_name="eu-west-1").lookup_events()
    assert found["Events"] == []
