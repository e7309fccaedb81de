"""Template assertions on the synthesized stacks: each resource's key properties."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from tests.conftest import Synthesized
from tests.templates import only, only_properties, resources, statements_by_sid

STACKS = ["Staging-iris", "Prod-iris"]


def test_every_environment_and_model_has_a_stack(synth: Synthesized) -> None:
    expected = {d.stack_name for d in synth.project.deployments()}
    assert set(synth.templates) == expected
    assert {"Staging-iris", "Prod-iris"} <= expected


@pytest.mark.parametrize("stack", STACKS)
def test_artifact_bucket_is_private_encrypted_versioned_and_retained(
    synth: Synthesized, stack: str
) -> None:
    template = synth.template(stack)
    template.has_resource(
        "AWS::S3::Bucket",
        {
            "Properties": Match.object_like(
                {
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                        ]
                    },
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": True,
                        "BlockPublicPolicy": True,
                        "IgnorePublicAcls": True,
                        "RestrictPublicBuckets": True,
                    },
                    "LoggingConfiguration": Match.object_like({"LogFilePrefix": "artifacts/"}),
                    "LifecycleConfiguration": {
                        "Rules": Match.array_with(
                            [
                                Match.object_like(
                                    {
                                        "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
                                        "Status": "Enabled",
                                    }
                                )
                            ]
                        )
                    },
                }
            ),
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )
    # Both buckets (artifacts and their access logs) deny plain HTTP.
    policies = resources(synth.templates[stack], "AWS::S3::BucketPolicy")
    assert len(policies) == 2
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )


@pytest.mark.parametrize("stack", STACKS)
def test_execution_role_is_scoped(synth: Synthesized, stack: str) -> None:
    template = synth.templates[stack]
    # The model's execution role (a training pipeline brings roles of its own).
    role = only_properties(template, "AWS::IAM::Role", prefix="ExecutionRole")
    assert "ManagedPolicyArns" not in role
    principal = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert principal == {"Service": "sagemaker.amazonaws.com"}

    statements = statements_by_sid(template, prefix="ExecutionRole")
    for statement in statements.values():
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert all("*" not in action for action in actions), statement
    bundle = synth.bundles["iris"]
    assert statements["ReadBundle"]["Action"] == "s3:GetObject"
    assert statements["ReadBundle"]["Resource"].endswith(f"/{bundle.sha256}.gz")
    assert statements["EcrToken"]["Resource"] == "*"  # the only '*': no resource-level support
    assert [s for s in statements.values() if s["Resource"] == "*"] == [statements["EcrToken"]]
    assert statements["PullImage"]["Resource"].endswith(":repository/pytorch-inference")
    assert statements["WriteLogs"]["Resource"] == {
        "Fn::GetAtt": [only(template, "AWS::Logs::LogGroup")[0], "Arn"]
    }


@pytest.mark.parametrize("stack", STACKS)
def test_model_serves_the_bundle_with_sagemaker_program_set(synth: Synthesized, stack: str) -> None:
    template = synth.template(stack)
    bundle = synth.bundles["iris"]
    template.has_resource_properties(
        "AWS::SageMaker::Model",
        {
            "EnableNetworkIsolation": True,
            "PrimaryContainer": {
                "Image": Match.string_like_regexp(
                    r"^\d{12}\.dkr\.ecr\.eu-west-1\.amazonaws\.com/pytorch-inference:2\.6-cpu-py312$"
                ),
                "Mode": "SingleModel",
                "ModelDataUrl": Match.string_like_regexp(f"^s3://cdk-.*/{bundle.sha256}\\.gz$"),
                "Environment": Match.object_like(
                    {
                        "SAGEMAKER_PROGRAM": "inference.py",
                        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
                        "SAGEMAKER_REGION": "eu-west-1",
                    }
                ),
            },
        },
    )
    _, model = only(synth.templates[stack], "AWS::SageMaker::Model")
    assert "ModelName" not in model["Properties"], "a new bundle must give a new Model"
    policy_id, _ = only(synth.templates[stack], "AWS::IAM::Policy", prefix="ExecutionRole")
    assert set(model["DependsOn"]) >= {policy_id}


@pytest.mark.parametrize(("stack", "count"), [("Staging-iris", 1), ("Prod-iris", 2)])
def test_endpoint_config_and_endpoint(synth: Synthesized, stack: str, count: int) -> None:
    template = synth.template(stack)
    template.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "ProductionVariants": [
                {
                    "VariantName": "primary",
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": count,
                    "InitialVariantWeight": 1,
                    "ModelName": {"Fn::GetAtt": [Match.any_value(), "ModelName"]},
                }
            ],
        },
    )
    config = only_properties(synth.templates[stack], "AWS::SageMaker::EndpointConfig")
    assert "EndpointConfigName" not in config
    env = stack.split("-")[0].lower()
    template.has_resource_properties(
        "AWS::SageMaker::Endpoint",
        {
            "EndpointName": f"{env}-iris",
            "EndpointConfigName": {"Fn::GetAtt": [Match.any_value(), "EndpointConfigName"]},
        },
    )


@pytest.mark.parametrize(("stack", "days"), [("Staging-iris", 30), ("Prod-iris", 365)])
def test_log_group_named_for_the_endpoint(synth: Synthesized, stack: str, days: int) -> None:
    env = stack.split("-")[0].lower()
    synth.template(stack).has_resource(
        "AWS::Logs::LogGroup",
        {
            "Properties": {
                "LogGroupName": f"/aws/sagemaker/Endpoints/{env}-iris",
                "RetentionInDays": days,
            },
            "DeletionPolicy": "Retain",
        },
    )


@pytest.mark.parametrize("stack", STACKS)
def test_log_group_is_encrypted_with_the_stacks_key_for_that_group_only(
    synth: Synthesized, stack: str
) -> None:
    (env,) = (d.environment for d in synth.project.deployments() if d.stack_name == stack)
    template = synth.templates[stack]
    key_id, key = only(template, "AWS::KMS::Key")
    group = only_properties(template, "AWS::Logs::LogGroup")
    assert group["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    statements = {s.get("Sid"): s for s in key["Properties"]["KeyPolicy"]["Statement"]}
    logs = statements["CloudWatchLogsEncryptEndpointLogs"]
    assert logs["Principal"] == {"Service": f"logs.{env.region}.amazonaws.com"}
    assert sorted(logs["Action"]) == [
        "kms:Decrypt*",
        "kms:Describe*",
        "kms:Encrypt*",
        "kms:GenerateDataKey*",
        "kms:ReEncrypt*",
    ]
    assert logs["Condition"] == {
        "ArnEquals": {
            "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{env.region}:{env.account}"
            f":log-group:{group['LogGroupName']}"
        }
    }


@pytest.mark.parametrize("stack", STACKS)
def test_outputs_and_metadata(synth: Synthesized, stack: str) -> None:
    template = synth.templates[stack]
    env = stack.split("-")[0].lower()
    bundle = synth.bundles["iris"]
    assert template["Outputs"]["EndpointName"]["Value"] == f"{env}-iris"
    assert template["Outputs"]["ModelDataUrl"]["Value"].endswith(f"/{bundle.sha256}.gz")
    assert template["Metadata"]["ModelBundle"] == {
        "model": "iris",
        "environment": env,
        "sha256": bundle.sha256,
        "bytes": bundle.size,
    }


def test_prod_has_termination_protection_and_staging_does_not(synth: Synthesized) -> None:
    import json

    manifest = json.loads((synth.outdir / "manifest.json").read_text())
    protection = {
        name: artifact["properties"].get("terminationProtection", False)
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    expected = {
        d.stack_name: d.environment.termination_protection for d in synth.project.deployments()
    }
    assert protection == expected
    assert protection["Prod-iris"] is True and protection["Staging-iris"] is False


def test_tags_from_the_environment_reach_every_taggable_resource(synth: Synthesized) -> None:
    model = only_properties(synth.templates["Prod-iris"], "AWS::SageMaker::Model")
    tags = {t["Key"]: t["Value"] for t in model["Tags"]}
    assert tags == {"environment": "prod", "owner": "ml-platform", "model": "iris"}


def test_stateful_logical_ids_are_pinned(synth: Synthesized) -> None:
    """Renaming these replaces a bucket or log group: data would be orphaned. Change with care."""
    for stack in STACKS:
        resources = synth.templates[stack]["Resources"]
        stateful = sorted(
            k
            for k, v in resources.items()
            if v["Type"] in {"AWS::S3::Bucket", "AWS::Logs::LogGroup"}
        )
        assert stateful == [
            "ArtifactsAccessLogs4D97777C",
            "ArtifactsBucket88671897",
            "EndpointLogsC54E4891",
        ]
        for logical in stateful:
            assert resources[logical]["DeletionPolicy"] == "Retain"


def test_the_asset_in_the_assembly_is_the_bundle(synth: Synthesized) -> None:
    bundle = synth.bundles["iris"]
    staged = synth.outdir / f"asset.{bundle.sha256}.tar.gz"
    assert staged.read_bytes() == bundle.path.read_bytes()
