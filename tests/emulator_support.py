"""What the emulator's in-process tests share: a clock moved by hand, a deploy done as the CDK CLI
does it (change set by change set), a small SageMaker stack, and a model server stand-in.

The emulator's behaviours run against moto's backends in the test's own process here; the
process itself is tested in tests/integration/.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from ops.emulator.extensions import installed

REGION = "eu-west-1"
SSM_VERSION = "/cdk-bootstrap/hnb659fds/version"
ROLE = "arn:aws:iam::123456789012:role/sagemaker"
START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class HandClock:
    """The emulator's clock, moved only when the code under test waits: AWS minutes are seconds.

    Waiting never blocks, so a bake of ten AWS minutes takes no time in the test.
    """

    scale = 60.0

    def __init__(self) -> None:
        self.at = START

    def now(self) -> datetime:
        return self.at

    def wait(self, aws_seconds: float, *, stop: threading.Event | None = None) -> bool:
        self.at += timedelta(seconds=aws_seconds / self.scale)
        return False

    def aws_seconds(self) -> float:
        """AWS seconds waited since START."""
        return (self.at - START).total_seconds() * self.scale


@dataclass
class StandInEndpoint:
    """The endpoint fields a guarded deployment reads and writes (moto's FakeEndpoint has more)."""

    endpoint_config_name: str = "config-a"
    endpoint_status: str = "InService"
    failure_reason: str | None = None
    pending_deployment_summary: dict[str, Any] | None = None
    last_deployment_config: dict[str, Any] | None = None


@contextmanager
def bootstrapped() -> Iterator[None]:
    """moto with the emulator's extensions, in an account `cdk bootstrap` has prepared (the
    bootstrap version parameter the CDK's templates read)."""
    with installed(), mock_aws():
        boto3.client("ssm").put_parameter(Name=SSM_VERSION, Value="30", Type="String")
        yield


def cfn() -> Any:
    return boto3.client("cloudformation")


def template(resources: dict[str, Any], outputs: dict[str, Any] | None = None) -> str:
    return json.dumps(
        {
            "Parameters": {
                "BootstrapVersion": {
                    "Type": "AWS::SSM::Parameter::Value<String>",
                    "Default": SSM_VERSION,
                }
            },
            "Resources": resources,
            "Outputs": outputs or {},
        }
    )


def deploy(stack: str, body: str, *, name: str = "cdk-deploy-change-set") -> dict[str, Any]:
    """What the CDK CLI does: delete the old change set, create, describe, execute."""
    client = cfn()
    exists = any(s["StackName"] == stack for s in client.describe_stacks()["Stacks"])
    if exists:
        client.delete_change_set(StackName=stack, ChangeSetName=name)
    client.create_change_set(
        StackName=stack,
        ChangeSetName=name,
        ChangeSetType="UPDATE" if exists else "CREATE",
        TemplateBody=body,
        Parameters=[{"ParameterKey": "BootstrapVersion", "UsePreviousValue": True}]
        if exists
        else [],
    )
    client.describe_change_set(StackName=stack, ChangeSetName=name)
    client.execute_change_set(StackName=stack, ChangeSetName=name)
    return dict(client.describe_stacks(StackName=stack)["Stacks"][0])


def physical(stack: str, logical: str) -> str:
    resource = cfn().describe_stack_resource(StackName=stack, LogicalResourceId=logical)
    return str(resource["StackResourceDetail"]["PhysicalResourceId"])


def sagemaker_resources(model_url: str = "s3://bucket/a.tar.gz") -> dict[str, Any]:
    """A Model and EndpointConfig with generated names, an Endpoint named staging-iris."""
    return {
        "Model": {
            "Type": "AWS::SageMaker::Model",
            "Properties": {
                "ExecutionRoleArn": ROLE,
                "PrimaryContainer": {
                    "Image": "img",
                    "ModelDataUrl": model_url,
                    "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
                },
            },
        },
        "Config": {
            "Type": "AWS::SageMaker::EndpointConfig",
            "Properties": {
                "ProductionVariants": [
                    {
                        "VariantName": "primary",
                        "ModelName": {"Fn::GetAtt": ["Model", "ModelName"]},
                        "InstanceType": "ml.m5.large",
                        "InitialInstanceCount": 1,
                        "InitialVariantWeight": 1.0,
                    }
                ],
            },
        },
        "Endpoint": {
            "Type": "AWS::SageMaker::Endpoint",
            "Properties": {
                "EndpointName": "staging-iris",
                "EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]},
            },
        },
    }


class FakeModelServer:
    """Answers /invocations with the archive's bytes count, so the test sees which was served."""

    def __init__(self, archive: Path) -> None:
        size = archive.stat().st_size

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if json.loads(body).get("bad"):
                    self.send_response(400)
                    self.end_headers()
                    self.wfile.write(b'{"error": "bad input"}')
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"predictions": [size]}).encode())

            def log_message(self, *args: object) -> None:
                return

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.invocations_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/invocations"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.stopped = False

    def stop(self) -> None:
        self.httpd.shutdown()
        self.stopped = True
