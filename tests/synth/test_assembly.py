"""Synth does no avoidable work: unselected stacks are not built, image look-ups are remembered."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App

from bundler import build
from configs.errors import ConfigError
from configs.loader import load_project
from stacks import app_stacks, images
from stacks.app_stacks import add_stacks, parse_selection
from stacks.memo import JsonMemo
from tests.conftest import ROOT

CONTEXT = json.loads((ROOT / "cdk.json").read_text())["context"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ()),
        ("", ()),
        ("Staging-*", ("Staging-*",)),
        ("Staging-a, Prod-b", ("Staging-a", "Prod-b")),
        (["Prod-*"], ("Prod-*",)),
    ],
)
def test_selection_is_read_from_the_context_value(value: Any, expected: tuple[str, ...]) -> None:
    assert parse_selection(value) == expected


def two_models(project_copy: Path) -> Path:
    shutil.copytree(project_copy / "models" / "iris", project_copy / "models" / "other")
    return project_copy


def test_unselected_models_are_not_bundled(
    project_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = load_project(two_models(project_copy))
    bundled: list[Path] = []

    def recording_build(spec: Any, cache_dir: Path) -> Any:
        bundled.append(spec.model_dir)
        return build(spec, cache_dir)

    monkeypatch.setattr(app_stacks, "build", recording_build)
    built = add_stacks(
        App(outdir=str(tmp_path / "out"), context=CONTEXT),
        project,
        cache_dir=tmp_path / "cache",
        selection=("Staging-other",),
    )
    assert sorted(built.stacks) == ["Staging-other"]
    assert "other" in [p.name for p in bundled]
    assert "iris" not in [p.name for p in bundled]  # the unselected model


def test_a_selection_matching_nothing_is_a_config_error(project_copy: Path, tmp_path: Path) -> None:
    project = load_project(project_copy)
    with pytest.raises(ConfigError, match=r"context.stacks: \['Nope-\*'\] matches no stack"):
        add_stacks(
            App(context=CONTEXT), project, cache_dir=tmp_path / "cache", selection=("Nope-*",)
        )


def test_image_look_ups_are_remembered_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = JsonMemo.in_folder(tmp_path)
    uri = images.ImageResolver(first).inference_image("2.6", "py312", "eu-west-1", "ml.m5.large")
    assert uri.endswith("/pytorch-inference:2.6-cpu-py312")
    first.save()

    def no_sdk(*args: object) -> str:
        raise AssertionError("asked the SDK again")

    monkeypatch.setattr(images, "sdk_image_uri", no_sdk)
    second = images.ImageResolver(JsonMemo.in_folder(tmp_path))
    assert second.inference_image("2.6", "py312", "eu-west-1", "ml.m5.large") == uri
    with pytest.raises(AssertionError, match="asked the SDK again"):
        second.inference_image("2.6", "py312", "eu-west-1", "ml.g5.xlarge")


def test_the_memo_is_keyed_by_the_sdk_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    images.ImageResolver(JsonMemo.in_folder(tmp_path)).inference_image(
        "2.6", "py312", "eu-west-1", "ml.m5.large"
    )
    memo = JsonMemo.in_folder(tmp_path)
    images.ImageResolver(memo).inference_image("2.6", "py312", "eu-west-1", "ml.m5.large")
    memo.save()
    monkeypatch.setattr(images, "sdk_version", lambda: "sagemaker-core==0.0.0")
    monkeypatch.setattr(images, "sdk_image_uri", lambda *args: "asked")
    assert (
        images.ImageResolver(JsonMemo.in_folder(tmp_path)).inference_image(
            "2.6", "py312", "eu-west-1", "ml.m5.large"
        )
        == "asked"
    )


def test_pipeline_definitions_share_the_memo_with_image_look_ups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stacks import pipeline_definition
    from tests.pipeline_support import pipeline_inputs

    memo = JsonMemo.in_folder(tmp_path)
    uri = images.ImageResolver(memo).inference_image("2.6", "py312", "eu-west-1", "ml.m5.large")
    definition = pipeline_definition.pipeline_definition(pipeline_inputs(), memo=memo)
    memo.save()

    def no_sdk(*args: object) -> str:
        raise AssertionError("asked the SDK again")

    monkeypatch.setattr(images, "sdk_image_uri", no_sdk)
    monkeypatch.setattr(pipeline_definition, "build_definition", no_sdk)
    again = JsonMemo.in_folder(tmp_path)
    assert pipeline_definition.pipeline_definition(pipeline_inputs(), memo=again) == definition
    assert (
        images.ImageResolver(again).inference_image("2.6", "py312", "eu-west-1", "ml.m5.large")
        == uri
    )
    assert [p.name for p in tmp_path.iterdir()] == ["sdk-memo.json"]
