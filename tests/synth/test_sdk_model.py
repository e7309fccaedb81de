"""A model folder written as the SageMaker PyTorch documentation writes one (tests/models/trend:
its own handlers, the toolkit's default output_fn, no shared library) synthesizes with no edits:
its stacks, its bundle in SageMaker's layout, and its handler module as SAGEMAKER_PROGRAM."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from tests.conftest import Synthesized, synthesize
from tests.model_support import SDK_MODEL, project_with_sdk_model
from tests.templates import only_properties

NAME = SDK_MODEL.name


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    base = tmp_path_factory.mktemp("sdk-model")
    root = project_with_sdk_model(base / "project")
    return synthesize(root, base / "cdk.out", base / "bundles")


def test_both_environments_get_a_stack(synthesized: Synthesized) -> None:
    assert sorted(synthesized.templates) == [f"Prod-{NAME}", f"Staging-{NAME}"]


def test_the_bundle_is_the_documented_layout(synthesized: Synthesized) -> None:
    bundle = synthesized.bundles[NAME]
    with tarfile.open(bundle.path) as tar:
        names = sorted(member.name for member in tar.getmembers() if member.isfile())
    assert names == ["code/inference.py", "model.pth"]
    with tarfile.open(bundle.path) as tar:
        packed = tar.extractfile("model.pth").read()  # type: ignore[union-attr]
    assert packed == (SDK_MODEL / "model.pth").read_bytes()


def test_the_model_runs_its_own_handler_module(synthesized: Synthesized) -> None:
    container = only_properties(synthesized.templates[f"Staging-{NAME}"], "AWS::SageMaker::Model")[
        "PrimaryContainer"
    ]
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"


def test_the_folder_is_left_unchanged(synthesized: Synthesized, tmp_path: Path) -> None:
    copied = synthesized.project.models[NAME].folder
    for path in SDK_MODEL.iterdir():
        if path.is_file():
            assert (copied / path.name).read_bytes() == path.read_bytes()
