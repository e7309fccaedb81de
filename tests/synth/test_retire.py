"""Orphaned stacks (model folder deleted) are found by tag and name, and deleted only on request."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ops.__main__ import main
from ops.retire import MODEL_TAG
from tests.conftest import Synthesized

REGION = "eu-west-1"
TEMPLATE = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})


@pytest.fixture
def assembly(synth, tmp_path: Path) -> Path:
    out = tmp_path / "cdk.out"
    shutil.copytree(synth.outdir, out, ignore=shutil.ignore_patterns("asset.*"))
    return out


@pytest.fixture
def cfn(aws_credentials: None) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("cloudformation", region_name=REGION)
        for name, tags in (
            ("Staging-iris", [{"Key": "model", "Value": "iris"}]),  # in the assembly
            ("Staging-retired", [{"Key": "model", "Value": "retired"}]),  # folder deleted
            ("Staging-other-tool", []),  # not a model stack
            ("Prod-retired", [{"Key": "model", "Value": "retired"}]),  # another environment
        ):
            client.create_stack(StackName=name, TemplateBody=TEMPLATE, Tags=tags)
        yield client


def test_lists_only_orphaned_model_stacks(cfn, assembly: Path, capsys) -> None:
    assert main(["retire", "--assembly", str(assembly), "--stacks", "Staging-*"]) == 0
    assert capsys.readouterr().out.split() == ["Staging-retired"]
    names = {s["StackName"] for s in cfn.describe_stacks()["Stacks"]}
    assert "Staging-retired" in names  # listing deletes nothing


def test_execute_deletes_them(cfn, assembly: Path, capsys) -> None:
    args = ["retire", "--assembly", str(assembly), "--stacks", "Prod-*", "--execute"]
    assert main(args) == 0
    assert capsys.readouterr().out.split() == ["Prod-retired"]
    live = {
        s["StackName"]
        for s in cfn.describe_stacks()["Stacks"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    }
    assert live == {"Staging-iris", "Staging-retired", "Staging-other-tool"}


def test_every_synthesized_stack_carries_the_model_tag_retire_looks_for(
    synth: Synthesized,
) -> None:
    # Stack tags are what `cdk deploy` gives CloudFormation; resource tags do not count here.
    artifacts = json.loads((synth.outdir / "manifest.json").read_text())["artifacts"]
    for deployment in synth.project.deployments():
        tags = artifacts[deployment.stack_name]["properties"].get("tags", {})
        assert tags.get(MODEL_TAG) == deployment.model_name, deployment.stack_name
        assert deployment.environment.tags.items() <= tags.items(), deployment.stack_name
