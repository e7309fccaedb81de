"""The post-deploy verifier against moto: in service, silent rollback, missing endpoint, smoke."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws

from ops.__main__ import main
from stacks.templates import read_template
from tests.conftest import ROOT
from tests.service_models import shared_service_models
from tests.templates import only, only_properties

STACK = "Staging-iris"
REGION = "eu-west-1"
ENDPOINT = "staging-iris"
ALARM = "staging-iris-5xx"


@pytest.fixture
def assembly(synth, tmp_path: Path) -> Path:
    """The real synthesized assembly, templates only (assets are not needed to verify)."""
    out = tmp_path / "cdk.out"
    shutil.copytree(synth.outdir, out, ignore=shutil.ignore_patterns("asset.*"))
    return out


def _template(assembly: Path) -> dict[str, Any]:
    return read_template(assembly / f"{STACK}.template.json")


def add_rollback_alarm(assembly: Path) -> None:
    """Give the endpoint a DeploymentConfig with an auto-rollback alarm, as rollouts declare."""
    path = assembly / f"{STACK}.template.json"
    template = json.loads(path.read_text())
    only_properties(template, "AWS::SageMaker::Endpoint")["DeploymentConfig"] = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 60}
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": ALARM}]},
    }
    path.write_text(json.dumps(template))


def deploy(assembly: Path) -> str:
    """Create the stack in moto with the assembly's Model and EndpointConfig; return the config.

    moto ignores explicit SageMaker names in CloudFormation, so the endpoint is created through
    the API with the template's name, on the config that CloudFormation made.
    """
    template = _template(assembly)
    model_id, model = only(template, "AWS::SageMaker::Model")
    config_id, config = only(template, "AWS::SageMaker::EndpointConfig")
    model["Properties"]["ExecutionRoleArn"] = "arn:aws:iam::123456789012:role/execution"
    # The key and capture bucket live in resources left out here; the verifier never reads them.
    config["Properties"].pop("KmsKeyId", None)
    config["Properties"].pop("DataCaptureConfig", None)
    small = {"Metadata": template["Metadata"], "Resources": {model_id: model, config_id: config}}
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(StackName=STACK, TemplateBody=json.dumps(small))
    physical = cfn.describe_stack_resource(StackName=STACK, LogicalResourceId=config_id)[
        "StackResourceDetail"
    ]["PhysicalResourceId"]
    return str(physical.rsplit("/", 1)[-1])


def old_config() -> str:
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    sagemaker.create_model(
        ModelName="iris-previous",
        PrimaryContainer={"Image": "example/image:1"},
        ExecutionRoleArn="arn:aws:iam::123456789012:role/execution",
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="iris-previous-config",
        ProductionVariants=[
            {
                "VariantName": "primary",
                "ModelName": "iris-previous",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    return "iris-previous-config"


def create_endpoint(config: str) -> None:
    boto3.client("sagemaker", region_name=REGION).create_endpoint(
        EndpointName=ENDPOINT, EndpointConfigName=config
    )


def verify(assembly: Path, tmp_path: Path, *extra: str) -> tuple[int, str]:
    summary = tmp_path / "summary.md"
    code = main(
        [
            *("verify", "--assembly", str(assembly), "--stacks", STACK),
            *("--summary", str(summary), *extra),
        ]
    )
    return code, summary.read_text()


@pytest.fixture(scope="module")
def service_models() -> Iterator[None]:
    """botocore's service models parsed once for the module (tests/service_models.py)."""
    with shared_service_models():
        yield


@pytest.fixture
def aws(aws_credentials: None, service_models: None) -> Iterator[None]:
    with mock_aws():
        yield


def test_in_service_on_the_declared_config_passes(aws, assembly: Path, tmp_path: Path) -> None:
    create_endpoint(deploy(assembly))
    code, summary = verify(assembly, tmp_path)
    assert code == 0, summary
    assert "all endpoints healthy" in summary
    assert f"`{ENDPOINT}`" in summary and "InService" in summary


def test_silent_rollback_fails_and_names_the_alarm(aws, assembly: Path, tmp_path: Path) -> None:
    add_rollback_alarm(assembly)
    deploy(assembly)
    create_endpoint(old_config())
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    cloudwatch.put_metric_alarm(
        AlarmName=ALARM,
        MetricName="Invocation5XXErrors",
        Namespace="AWS/SageMaker",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="5xx")
    code, summary = verify(assembly, tmp_path)
    assert code == 1
    assert "silent rollback" in summary
    assert "InService on `iris-previous-config`" in summary
    assert f"`{ALARM}`" in summary


def remove_deployment_config(assembly: Path) -> None:
    path = assembly / f"{STACK}.template.json"
    template = json.loads(path.read_text())
    only_properties(template, "AWS::SageMaker::Endpoint").pop("DeploymentConfig", None)
    path.write_text(json.dumps(template))


def test_silent_rollback_without_alarms_says_so(aws, assembly: Path, tmp_path: Path) -> None:
    remove_deployment_config(assembly)
    deploy(assembly)
    create_endpoint(old_config())
    code, summary = verify(assembly, tmp_path)
    assert code == 1
    assert "silent rollback" in summary and "no rollback alarm" in summary


def test_missing_endpoint_fails(aws, assembly: Path, tmp_path: Path) -> None:
    deploy(assembly)
    code, summary = verify(assembly, tmp_path)
    assert code == 1
    assert f"endpoint `{ENDPOINT}` not found" in summary


def test_stack_not_deployed_fails(aws, assembly: Path, tmp_path: Path) -> None:
    code, summary = verify(assembly, tmp_path)
    assert code == 1
    assert f"stack `{STACK}` is not deployed" in summary


def test_another_bundle_deployed_fails(aws, assembly: Path, tmp_path: Path) -> None:
    create_endpoint(deploy(assembly))
    path = assembly / f"{STACK}.template.json"
    template = json.loads(path.read_text())
    template["Metadata"]["ModelBundle"]["sha256"] = "0" * 64
    path.write_text(json.dumps(template))
    code, summary = verify(assembly, tmp_path)
    assert code == 1
    assert "was this assembly deployed?" in summary


def test_no_matching_stack_fails(aws, assembly: Path, capsys) -> None:
    assert main(["verify", "--assembly", str(assembly), "--stacks", "Nope-*"]) == 1
    assert "no stack" in capsys.readouterr().err


# moto's sagemaker-runtime returns canned answers (b"body" unless results are queued through its
# /moto-api/static/sagemaker/endpoint-results API) and never runs the model: these tests check
# that the verifier sends the model's smoke request and judges the answer by the model's own
# expectation (iris: the labels of its three examples), not the model itself.


def _project(tmp_path: Path) -> Path:
    """configs/ and the iris model folder (with modelkit), to change freely."""
    root = tmp_path / "project"
    shutil.copytree(ROOT / "configs", root / "configs")
    for name in ("iris", "modelkit"):
        shutil.copytree(ROOT / "models" / name, root / "models" / name)
    return root


def _queue_response(body: Any) -> None:
    requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/sagemaker/endpoint-results",
        json={
            "region": REGION,
            "results": [{"Body": json.dumps(body), "ContentType": "application/json"}],
        },
        timeout=5,
    )


def _labelled(*labels: str) -> dict[str, Any]:
    return {"predictions": [{"label": label} for label in labels]}


def test_smoke_accepts_the_expected_labels(aws, assembly: Path, tmp_path: Path) -> None:
    create_endpoint(deploy(assembly))
    _queue_response(_labelled("setosa", "versicolor", "virginica"))
    code, summary = verify(assembly, tmp_path, "--smoke", "--root", str(_project(tmp_path)))
    assert code == 0, summary
    assert "ok (3 label(s) as expected)" in summary


def test_smoke_rejects_other_labels_naming_endpoint_file_and_field(
    aws, assembly: Path, tmp_path: Path
) -> None:
    create_endpoint(deploy(assembly))
    root = _project(tmp_path)
    _queue_response(_labelled("setosa", "setosa", "virginica"))
    code, summary = verify(assembly, tmp_path, "--smoke", "--root", str(root))
    assert code == 1
    assert (
        f"smoke test of `{ENDPOINT}`: {root / 'models/iris/config.yaml'} smoke.expect.labels: "
        "expected ['setosa', 'versicolor', 'virginica'] at 'predictions[*].label', the answer "
        "has ['setosa', 'setosa', 'virginica'] (request example.json)"
    ) in summary


def test_smoke_without_expectation_accepts_any_json(aws, assembly: Path, tmp_path: Path) -> None:
    """The default contract: HTTP 200 and a body that parses as the accept type."""
    create_endpoint(deploy(assembly))
    root = _project(tmp_path)
    config = root / "models" / "iris" / "config.yaml"
    text = config.read_text()
    config.write_text(text[: text.index("smoke:")] + text[text.index("training:") :])
    _queue_response([[0.1, 0.9]])
    code, summary = verify(assembly, tmp_path, "--smoke", "--root", str(root))
    assert code == 0, summary
    assert "ok (HTTP 200, application/json)" in summary


def test_smoke_rejects_moto_default_body(aws, assembly: Path, tmp_path: Path) -> None:
    create_endpoint(deploy(assembly))
    code, summary = verify(assembly, tmp_path, "--smoke", "--root", str(_project(tmp_path)))
    assert code == 1
    assert "smoke.accept: the body does not parse as application/json" in summary


def test_smoke_request_missing_names_file_and_field(aws, assembly: Path, tmp_path: Path) -> None:
    create_endpoint(deploy(assembly))
    root = _project(tmp_path)
    (root / "models" / "iris" / "example.json").unlink()
    code, summary = verify(assembly, tmp_path, "--smoke", "--root", str(root))
    assert code == 1
    assert "models/iris/config.yaml" in summary
    assert "smoke.request: 'example.json' does not exist in iris/" in summary
    assert "Traceback" not in summary


def test_smoke_without_project_fails(aws, assembly: Path, tmp_path: Path) -> None:
    create_endpoint(deploy(assembly))
    code, summary = verify(assembly, tmp_path, "--smoke", "--root", str(tmp_path / "empty"))
    assert code == 1
    assert f"smoke test of `{ENDPOINT}`: configuration error" in summary
    assert "no environment files" in summary
