"""Data safety: what holds data is retained and keeps its logical id; deleting a model folder
deletes its stack but never its buckets; production stacks cannot be deleted by accident."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from tests.conftest import ROOT, Synthesized, copy_project, synthesize

# Resources that hold data or the history of one: replaced or deleted, it is gone.
STATEFUL = {
    "AWS::S3::Bucket",
    "AWS::KMS::Key",  # data encrypted with it is unreadable without it
    "AWS::Logs::LogGroup",
    "AWS::SageMaker::ModelPackageGroup",  # registered versions and their approval history
}
# Everything else the stacks make: recreated from the template without loss.
STATELESS = {
    "AWS::ApplicationAutoScaling::ScalableTarget",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::Events::Rule",
    "AWS::IAM::Policy",
    "AWS::IAM::Role",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::Subscription",
    "AWS::SNS::Topic",
    "AWS::SNS::TopicPolicy",
    "AWS::SageMaker::Endpoint",
    "AWS::SageMaker::EndpointConfig",
    "AWS::SageMaker::Model",
    "AWS::SageMaker::Pipeline",
    "AWS::SageMaker::DataQualityJobDefinition",
    "AWS::SageMaker::MonitoringSchedule",
    "AWS::CDK::Metadata",
}
# Renaming one of these makes CloudFormation create a new resource and orphan the old one's
# data. Change a construct id or path above them only with a migration.
PINNED = {
    "ArtifactsAccessLogs4D97777C": "AWS::S3::Bucket",
    "ArtifactsBucket88671897": "AWS::S3::Bucket",
    "EncryptionKey514CDF8F": "AWS::KMS::Key",
    "EndpointLogsC54E4891": "AWS::Logs::LogGroup",
    "ModelRegistryGroupC87F7ECA": "AWS::SageMaker::ModelPackageGroup",
}


def test_every_resource_type_is_classified(synth: Synthesized) -> None:
    """A new kind of resource must be declared stateful or stateless here first."""
    seen = {r["Type"] for t in synth.templates.values() for r in t["Resources"].values()}
    assert seen - STATEFUL - STATELESS == set()


def test_every_stateful_resource_is_retained(synth: Synthesized) -> None:
    checked = 0
    for name, template in synth.templates.items():
        for logical, resource in template["Resources"].items():
            if resource["Type"] in STATEFUL:
                where = f"{name}/{logical}"
                assert resource.get("DeletionPolicy") == "Retain", where
                assert resource.get("UpdateReplacePolicy") == "Retain", where
                checked += 1
    assert checked == len(PINNED) * len(synth.templates)


def test_stateful_logical_ids_are_pinned_in_every_stack(synth: Synthesized) -> None:
    for name, template in synth.templates.items():
        stateful = {k: r["Type"] for k, r in template["Resources"].items() if r["Type"] in STATEFUL}
        assert stateful == PINNED, name


def test_prod_stacks_have_termination_protection(synth: Synthesized) -> None:
    manifest = json.loads((synth.outdir / "manifest.json").read_text())
    stacks = {
        name: artifact["properties"]
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    prod = {n: p for n, p in stacks.items() if n.startswith("Prod-")}
    assert prod and len(prod) == len(synth.project.models)
    assert all(p.get("terminationProtection") is True for p in prod.values())
    prod_config = yaml.safe_load((ROOT / "configs" / "prod.yaml").read_text())
    assert prod_config["termination_protection"] is True


# --- deleting a model folder -------------------------------------------------------------------


def _stateful_template(template: dict[str, Any]) -> dict[str, Any]:
    """The real template's buckets, key and log group, as CloudFormation would hold them."""
    kept = {
        k: json.loads(json.dumps(r))
        for k, r in template["Resources"].items()
        if r["Type"] in {"AWS::S3::Bucket", "AWS::KMS::Key", "AWS::Logs::LogGroup"}
    }
    for resource in kept.values():
        if resource["Type"] == "AWS::KMS::Key":
            # moto reads KMS tags as TagKey/TagValue; tags play no part in retention.
            resource["Properties"].pop("Tags", None)
    return {"Resources": kept}


@pytest.fixture
def without_iris(tmp_path: Path) -> Path:
    """The staging assembly synthesized after `models/iris/` was deleted (the test retires
    staging's stacks only)."""
    copy_project(tmp_path)
    shutil.rmtree(tmp_path / "models" / "iris")
    return synthesize(
        tmp_path, tmp_path / "cdk.out", tmp_path / "bundles", stacks=("Staging-*",)
    ).outdir


def test_deleting_a_model_folder_retires_its_stack_but_keeps_its_data(
    synth: Synthesized,
    without_iris: Path,
    aws_credentials: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from ops.__main__ import main

    deployed = _stateful_template(synth.templates["Staging-iris"])
    with mock_aws():
        cfn = boto3.client("cloudformation", region_name="eu-west-1")
        cfn.create_stack(
            StackName="Staging-iris",
            TemplateBody=json.dumps(deployed),
            Tags=[{"Key": "model", "Value": "iris"}],
        )
        physical = {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in cfn.describe_stack_resources(StackName="Staging-iris")["StackResources"]
        }
        s3 = boto3.client("s3", region_name="eu-west-1")
        bucket = physical["ArtifactsBucket88671897"]
        s3.put_object(Bucket=bucket, Key="data-capture/staging-iris/x.jsonl", Body=b"{}")

        args = ["retire", "--assembly", str(without_iris), "--stacks", "Staging-*", "--execute"]
        assert main(args) == 0
        assert capsys.readouterr().out.split() == ["Staging-iris"]

        stacks = cfn.list_stacks()["StackSummaries"]
        assert [s["StackStatus"] for s in stacks if s["StackName"] == "Staging-iris"] == [
            "DELETE_COMPLETE"
        ]
        buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
        assert {physical["ArtifactsBucket88671897"], physical["ArtifactsAccessLogs4D97777C"]} <= (
            buckets
        )
        body = s3.get_object(Bucket=bucket, Key="data-capture/staging-iris/x.jsonl")["Body"]
        assert body.read() == b"{}"
        logs = boto3.client("logs", region_name="eu-west-1")
        groups = logs.describe_log_groups(logGroupNamePrefix="/aws/sagemaker/Endpoints/")
        assert "/aws/sagemaker/Endpoints/staging-iris" in {
            g["logGroupName"] for g in groups["logGroups"]
        }
        keys = boto3.client("kms", region_name="eu-west-1")
        # (describe_key trips over moto keeping the CloudFormation key policy as a dict)
        assert physical["EncryptionKey514CDF8F"] in {k["KeyId"] for k in keys.list_keys()["Keys"]}


def test_a_retained_bucket_would_be_deleted_without_its_policy(
    synth: Synthesized, aws_credentials: None
) -> None:
    """The check above can fail: the same stack without DeletionPolicy loses its bucket."""
    template = _stateful_template(synth.templates["Staging-iris"])
    bucket = template["Resources"]["ArtifactsAccessLogs4D97777C"]
    del bucket["DeletionPolicy"]
    template["Resources"] = {"ArtifactsAccessLogs4D97777C": bucket}
    with mock_aws():
        cfn = boto3.client("cloudformation", region_name="eu-west-1")
        cfn.create_stack(StackName="Careless", TemplateBody=json.dumps(template))
        (resource,) = cfn.describe_stack_resources(StackName="Careless")["StackResources"]
        cfn.delete_stack(StackName="Careless")
        s3 = boto3.client("s3", region_name="eu-west-1")
        assert resource["PhysicalResourceId"] not in {
            b["Name"] for b in s3.list_buckets()["Buckets"]
        }
