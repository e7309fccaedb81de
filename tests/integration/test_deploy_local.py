"""The real CDK CLI against the emulator: bootstrap, deploy Staging-*, verify + smoke, update,
verify, a broken template, destroy. The emulator runs on a free loopback port and is stopped
at the end whatever happens (its model servers with it)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

import ops.emulator as emulator
from ops import deploy_local
from tests.conftest import ROOT
from tests.model_support import SDK_MODEL, project_with_sdk_model

MODEL = "iris"
STACK = f"Staging-{MODEL}"
ENDPOINT = f"staging-{MODEL}"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """configs/ and one model (plus the shared library) to change freely."""
    root = tmp_path / "project"
    shutil.copytree(ROOT / "configs", root / "configs")
    for folder in (ROOT / "models").iterdir():
        if folder.is_dir() and (folder.name == MODEL or not (folder / "config.yaml").exists()):
            shutil.copytree(folder, root / "models" / folder.name)
    return root


@pytest.fixture
def running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    state = tmp_path / "emulator" / "state.json"
    handle = emulator.start(state)
    env = deploy_local.cdk_environment(handle.url)
    for key in emulator.client_environment(handle.url):
        monkeypatch.setenv(key, env[key])
    try:
        yield env
    finally:
        emulator.stop(state)
        assert emulator.status(state) is None
        with pytest.raises(ProcessLookupError):
            os.killpg(handle.pid, 0)  # the emulator and every model server it started


def _endpoint() -> dict[str, Any]:
    return dict(boto3.client("sagemaker").describe_endpoint(EndpointName=ENDPOINT))


def _served_url(config_name: str) -> str:
    sagemaker = boto3.client("sagemaker")
    config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    return str(model["PrimaryContainer"]["ModelDataUrl"])


def _break(outdir: Path, broken: Path) -> None:
    """A copy of the assembly whose Staging template adds an Endpoint on a config that does
    not exist; the template asset is re-keyed by its new hash, as a synth would."""
    shutil.copytree(outdir, broken)
    template_path = broken / f"{STACK}.template.json"
    template = json.loads(template_path.read_text())
    template["Resources"]["Broken"] = {
        "Type": "AWS::SageMaker::Endpoint",
        "Properties": {"EndpointConfigName": "does-not-exist"},
    }
    text = json.dumps(template, indent=1)
    template_path.write_text(text)
    old = hashlib.sha256((outdir / f"{STACK}.template.json").read_bytes()).hexdigest()
    new = hashlib.sha256(text.encode()).hexdigest()
    for name in (f"{STACK}.assets.json", "manifest.json"):
        path = broken / name
        path.write_text(path.read_text().replace(old, new))


def test_deploy_update_break_destroy(project: Path, running: dict[str, str], tmp_path: Path):
    first, second = tmp_path / "first.out", tmp_path / "second.out"

    deploy_local.synth(running, first, project_root=project)
    deploy_local.bootstrap(running, first)
    output = deploy_local.deploy(running, first)
    assert f"✅  {STACK}" in output
    report = deploy_local.verify(running, first, project_root=project)
    assert STACK in report and "ok (3 label(s) as expected)" in report
    before = _endpoint()
    bundle_v1 = json.loads((first / f"{STACK}.template.json").read_text())["Metadata"]
    stack = boto3.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs["EndpointName"] == ENDPOINT
    assert _served_url(before["EndpointConfigName"]) == outputs["ModelDataUrl"]

    # A model change: a new bundle, so a new Model and EndpointConfig through a change set.
    with (project / "models" / MODEL / "inference.py").open("a") as handle:
        handle.write("\n# a change that gives a new bundle\n")
    deploy_local.synth(running, second, project_root=project)
    deploy_local.deploy(running, second)
    deploy_local.verify(running, second)
    after = _endpoint()
    assert after["EndpointConfigName"] != before["EndpointConfigName"]
    assert after["CreationTime"] == before["CreationTime"]
    bundle_v2 = json.loads((second / f"{STACK}.template.json").read_text())["Metadata"]
    assert bundle_v2["ModelBundle"]["sha256"] != bundle_v1["ModelBundle"]["sha256"]
    assert bundle_v2["ModelBundle"]["sha256"] in _served_url(after["EndpointConfigName"])

    # A template CloudFormation rejects: the deploy fails with its error; the stack rolls back.
    broken = tmp_path / "broken.out"
    _break(second, broken)
    with pytest.raises(deploy_local.StepFailed) as failed:
        deploy_local.deploy(running, broken)
    assert "Could not find endpoint configuration" in str(failed.value)
    assert "does-not-exist" in str(failed.value)
    stack = boto3.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert _endpoint()["EndpointConfigName"] == after["EndpointConfigName"]

    deploy_local.destroy(running, second)
    cfn = boto3.client("cloudformation")
    assert STACK not in {s["StackName"] for s in cfn.describe_stacks()["Stacks"]}
    with pytest.raises(boto3.client("sagemaker").exceptions.ClientError):
        _endpoint()


def test_an_sdk_style_model_deploys_and_verifies_unchanged(
    running: dict[str, str], tmp_path: Path
) -> None:
    """tests/models/trend, copied into models/ with no edit: the toolkit's default output (a
    plain JSON list) passes the smoke test, read by the model's own expectation."""
    root = project_with_sdk_model(tmp_path / "project")
    outdir = tmp_path / "cdk.out"
    deploy_local.synth(running, outdir, project_root=root)
    deploy_local.bootstrap(running, outdir)
    assert f"✅  Staging-{SDK_MODEL.name}" in deploy_local.deploy(running, outdir)
    report = deploy_local.verify(running, outdir, project_root=root)
    assert f"`Staging-{SDK_MODEL.name}`" in report
    assert "ok (2 label(s) as expected)" in report
