"""`python -m ops promote` against moto's SageMaker registry, and the config line it writes."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from configs.loader import load_project
from ops.promote import approved_packages, pin, run
from tests.unit.conftest import GROUP


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
