"""The emulator's AWS::SageMaker::MlflowTrackingServer, in-process against moto's backends.

Stock moto 5.2.5 skips the type ("No Moto CloudFormation support"): the stack completes with
no server, no physical id and no ARN output, so each test here fails without the resource
model (and this project's engine fails a deploy with a type it has no model for).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ops.emulator.extensions.resources import MODELS
from ops.emulator.extensions.resources.mlflow import CfnMlflowTrackingServer, tracking_servers
from tests.emulator_support import REGION, ROLE, bootstrapped, cfn, deploy, physical, template

ACCOUNT = "123456789012"  # moto's default account


@pytest.fixture
def aws(aws_credentials: None) -> Iterator[None]:
    with bootstrapped():
        yield


def server(**properties: Any) -> dict[str, Any]:
    return {
        "Server": {
            "Type": "AWS::SageMaker::MlflowTrackingServer",
            "Properties": {
                "TrackingServerName": "staging-iris",
                "ArtifactStoreUri": "s3://staging-iris-artifacts/mlflow",
                "RoleArn": ROLE,
                "AutomaticModelRegistration": False,
                "TrackingServerSize": "Small",
                **properties,
            },
        }
    }


def outputs() -> dict[str, Any]:
    return {"Arn": {"Value": {"Fn::GetAtt": ["Server", "TrackingServerArn"]}}}


def output(stack: str, key: str) -> str:
    found = cfn().describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    return next(str(o["OutputValue"]) for o in found if o["OutputKey"] == key)


def test_the_type_is_one_of_the_registered_models() -> None:
    assert CfnMlflowTrackingServer in MODELS
    assert CfnMlflowTrackingServer.cloudformation_type() == "AWS::SageMaker::MlflowTrackingServer"


def test_the_server_is_created_with_its_name_arn_and_settings(aws: None) -> None:
    stack = deploy("Tracking", template(server(), outputs()))
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert physical("Tracking", "Server") == "staging-iris"
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-tracking-server/staging-iris"
    assert output("Tracking", "Arn") == arn
    (created,) = tracking_servers(ACCOUNT, REGION).values()
    assert created.arn == arn
    assert created.settings["artifact_store_uri"] == "s3://staging-iris-artifacts/mlflow"
    assert created.settings["role_arn"] == ROLE
    assert created.settings["automatic_model_registration"] is False


def test_settings_change_in_place_a_new_name_replaces_and_delete_removes(aws: None) -> None:
    deploy("Tracking", template(server(), outputs()))
    stack = deploy("Tracking", template(server(TrackingServerSize="Medium"), outputs()))
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    (resized,) = tracking_servers(ACCOUNT, REGION).values()
    assert resized.settings["size"] == "Medium"

    deploy("Tracking", template(server(TrackingServerName="staging-digits"), outputs()))
    assert set(tracking_servers(ACCOUNT, REGION)) == {"staging-digits"}
    assert output("Tracking", "Arn").endswith(":mlflow-tracking-server/staging-digits")

    cfn().delete_stack(StackName="Tracking")
    assert tracking_servers(ACCOUNT, REGION) == {}


def test_a_bad_artifact_store_fails_the_deploy_with_the_reason(aws: None) -> None:
    stack = deploy("Tracking", template(server(ArtifactStoreUri="staging-iris-artifacts/mlflow")))
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    events = cfn().describe_stack_events(StackName="Tracking")["StackEvents"]
    reasons = " ".join(e.get("ResourceStatusReason", "") for e in events)
    assert "is not an S3 URI" in reasons
    assert tracking_servers(ACCOUNT, REGION) == {}
