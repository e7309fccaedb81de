"""`python -m ops promote` against moto's SageMaker registry, and the config line it writes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from configs.loader import load_project
from ops.promote import approved_packages, pin, run
from ops.registry_access import allowed_accounts
from tests.unit.conftest import GROUP, PROD_ACCOUNT, STAGING_ACCOUNT, group_policy


def register(client: Any, status: str, data: str) -> str:
    arn: str = client.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [{"Image": "image:1", "ModelDataUrl": f"s3://artifacts/{data}.tar.gz"}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        CustomerMetadataProperties={"input-train-uri": f"s3://data/{data}"},
    )["ModelPackageArn"]
    return arn


def test_lists_only_approved_versions_newest_first(sagemaker: Any) -> None:
    first = register(sagemaker, "Approved", "v1")
    register(sagemaker, "PendingManualApproval", "v2")
    third = register(sagemaker, "PendingManualApproval", "v3")
    sagemaker.update_model_package(ModelPackageArn=third, ModelApprovalStatus="Approved")
    register(sagemaker, "Rejected", "v4")

    packages = approved_packages(sagemaker, GROUP)

    assert [p.arn for p in packages] == [third, first]
    assert [p.version for p in packages] == [3, 1]
    # (moto's update_model_package drops the metadata of the package it updates; AWS keeps it)
    assert packages[1].metadata == {"input-train-uri": "s3://data/v1"}


def _args(root: Path, **kwargs: Any) -> argparse.Namespace:
    values = {"model": "iris", "environment": "staging", "version": None, "write": False}
    values.update(kwargs)
    return argparse.Namespace(root=root, **values)


def test_writes_the_newest_approved_version_into_the_config(
    sagemaker: Any, project_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    register(sagemaker, "Approved", "v1")
    newest = register(sagemaker, "Approved", "v2")
    config = project_copy / "models" / "iris" / "config.yaml"
    before = config.read_text()

    assert run(_args(project_copy, write=True), sagemaker=sagemaker) == 0

    after = config.read_text()
    changed = [line for line in after.splitlines() if line not in before.splitlines()]
    assert changed == ["  source: registry", f"  model_package_arn: {newest}"]
    project = load_project(project_copy)
    artifact = project.models["iris"].file.artifact
    assert (artifact.source, artifact.model_package_arn) == ("registry", newest)
    assert newest in capsys.readouterr().out


def test_promoting_again_is_a_one_line_change(sagemaker: Any) -> None:
    first = register(sagemaker, "Approved", "v1")
    second = register(sagemaker, "Approved", "v2")
    text = "artifact:  # what is served\n  weights: [model.pt]\nserving: {}\n"

    once = pin(text, first)
    twice = pin(once, second)

    diff = [(a, b) for a, b in zip(once.splitlines(), twice.splitlines(), strict=True) if a != b]
    assert diff == [(f"  model_package_arn: {first}", f"  model_package_arn: {second}")]
    assert twice.endswith("serving: {}\n")


def test_an_unapproved_version_is_refused(
    sagemaker: Any, project_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    register(sagemaker, "Approved", "v1")
    register(sagemaker, "PendingManualApproval", "v2")
    config = project_copy / "models" / "iris" / "config.yaml"
    before = config.read_text()

    assert run(_args(project_copy, version=2, write=True), sagemaker=sagemaker) == 1

    assert config.read_text() == before
    assert "version 2 is not approved (approved: 1)" in capsys.readouterr().err


def test_an_empty_group_says_what_to_do(
    sagemaker: Any, project_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(_args(project_copy), sagemaker=sagemaker) == 1
    assert "approve one in the model registry first" in capsys.readouterr().err


def test_promotion_reaches_the_other_account_through_the_group_policy(
    sagemaker: Any, project_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Staging (111111111111) owns the group; Prod (222222222222) is let in by its policy."""
    arn = register(sagemaker, "Approved", "one")
    assert arn.startswith(f"arn:aws:sagemaker:eu-west-1:{STAGING_ACCOUNT}:model-package/")
    assert run(_args(project_copy, write=True), sagemaker=sagemaker) == 0
    out = capsys.readouterr().out
    assert f"let in by staging-iris's resource policy: prod (account {PROD_ACCOUNT})" in out
    assert f"model_package_arn: {arn}" in (project_copy / "models/iris/config.yaml").read_text()


@pytest.mark.parametrize(
    "policy", [None, group_policy("333333333333")], ids=["no policy", "another account"]
)
def test_a_promotion_the_other_account_cannot_deploy_is_refused(
    sagemaker: Any,
    project_copy: Path,
    capsys: pytest.CaptureFixture[str],
    policy: str | None,
) -> None:
    if policy is None:
        sagemaker.delete_model_package_group_policy(ModelPackageGroupName=GROUP)
    else:
        sagemaker.put_model_package_group_policy(ModelPackageGroupName=GROUP, ResourcePolicy=policy)
    register(sagemaker, "Approved", "one")
    config = project_copy / "models/iris/config.yaml"
    before = config.read_text()

    assert run(_args(project_copy, write=True), sagemaker=sagemaker) == 1

    error = capsys.readouterr().err
    assert (
        f"promote: environment 'prod' (account {PROD_ACCOUNT}) has no access to staging-iris/1: "
        f"the model package group staging-iris's resource policy does not let account "
        f"{PROD_ACCOUNT} sagemaker:DescribeModelPackage and sagemaker:CreateModel it"
    ) in error
    assert f"promote: deploy Staging-iris (account {STAGING_ACCOUNT}): its stack gives" in error
    assert "Traceback" not in error
    assert config.read_text() == before  # nothing written


def test_the_policy_check_reads_principals_actions_and_resources() -> None:
    arn = f"arn:aws:sagemaker:eu-west-1:{STAGING_ACCOUNT}:model-package/{GROUP}/4"
    assert allowed_accounts(group_policy(PROD_ACCOUNT, "333333333333"), package_arn=arn) == {
        PROD_ACCOUNT,
        "333333333333",
    }
    other_group = arn.replace(GROUP, "staging-digits")
    assert allowed_accounts(group_policy(PROD_ACCOUNT), package_arn=other_group) == set()
    describe_only = {
        "Statement": {
            "Effect": "Allow",
            "Principal": {"AWS": PROD_ACCOUNT},
            "Action": "sagemaker:Describe*",
            "Resource": "*",
        }
    }
    assert allowed_accounts(json.dumps(describe_only), package_arn=arn) == set()
    everything = {**describe_only["Statement"], "Action": "sagemaker:*"}
    assert allowed_accounts(json.dumps({"Statement": [everything]}), package_arn=arn) == {
        PROD_ACCOUNT
    }
    assert allowed_accounts("not json", package_arn=arn) == set()
