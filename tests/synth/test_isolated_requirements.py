"""A model whose code/requirements.txt lists packages, served with network isolation (the
default): synth stops with one config error naming the file, the packages and both fixes,
unless the packages are vendored in the bundle or isolation is off for that model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from configs.loader import load_project
from stacks.app_stacks import unvendored_problems
from tests.conftest import ROOT, write_yaml
from tests.model_support import SDK_MODEL, project_with_sdk_model

NAME = SDK_MODEL.name


def with_requirements(root: Path, **changes: Any) -> Path:
    """The SDK-style model with a requirements.txt listing one package, bundled under code/."""
    folder = root / "models" / NAME
    (folder / "requirements.txt").write_text("# what the handlers import\ntinypkg==1.0\n")
    config = yaml.safe_load((folder / "config.yaml").read_text())
    config["artifact"]["code"] = ["inference.py", "requirements.txt"]
    config.update(changes)
    write_yaml(folder / "config.yaml", config)
    return root


def vendor(root: Path) -> None:
    """What `pip install --target models/trend/ tinypkg==1.0` leaves, and globs that bundle it."""
    folder = root / "models" / NAME
    (folder / "tinypkg").mkdir()
    (folder / "tinypkg" / "__init__.py").write_text("")
    (folder / "tinypkg-1.0.dist-info").mkdir()
    (folder / "tinypkg-1.0.dist-info" / "METADATA").write_text("Name: tinypkg\nVersion: 1.0\n")
    config = yaml.safe_load((folder / "config.yaml").read_text())
    config["artifact"]["code"] += ["tinypkg/*", "tinypkg-1.0.dist-info/*"]
    write_yaml(folder / "config.yaml", config)


def problems(root: Path) -> list[str]:
    project = load_project(root)
    return [p.render(root) for p in unvendored_problems(project, project.deployments())]


def test_synth_fails_naming_the_file_packages_and_both_fixes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """app.py's own `main`, in this process: a second Python and node process would cost ten
    CPU-seconds to show what `main` prints. That `python app.py` exits with `main`'s code and
    prints no traceback is shown once, in tests/unit/test_config.py."""
    import aws_cdk

    import app

    root = with_requirements(project_with_sdk_model(tmp_path / "project"))
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    context.update(projectRoot=str(root), bundleCacheDir=str(tmp_path / "cache"))
    # The context `npx cdk synth` hands app.py through CDK_CONTEXT_JSON, which only a new node
    # process would read.
    new_app = aws_cdk.App
    monkeypatch.setattr(
        aws_cdk, "App", lambda: new_app(context=context, outdir=str(tmp_path / "cdk.out"))
    )
    assert app.main() == 1
    message = capsys.readouterr().err
    assert f"models/{NAME}/config.yaml: serving.network_isolation:" in message
    assert f"lists 'tinypkg==1.0' (models/{NAME}/requirements.txt:2)" in message
    assert "with network isolation (prod, staging)" in message
    assert f"pip install --target models/{NAME}/ -r requirements.txt" in message
    assert "set network_isolation: false" in message
    assert "Traceback" not in message


def test_vendored_packages_pass(tmp_path: Path) -> None:
    root = with_requirements(project_with_sdk_model(tmp_path / "project"))
    vendor(root)
    assert problems(root) == []


def test_a_wrong_vendored_version_fails(tmp_path: Path) -> None:
    root = with_requirements(project_with_sdk_model(tmp_path / "project"))
    vendor(root)
    (root / "models" / NAME / "requirements.txt").write_text("tinypkg==2.0\n")
    assert "lists 'tinypkg==2.0'" in problems(root)[0]


def test_vendored_but_not_bundled_fails(tmp_path: Path) -> None:
    """The folders exist beside the model but artifact.code leaves them out of code/."""
    root = with_requirements(project_with_sdk_model(tmp_path / "project"))
    vendor(root)
    path = root / "models" / NAME / "config.yaml"
    config = yaml.safe_load(path.read_text())
    config["artifact"]["code"] = ["inference.py", "requirements.txt"]
    write_yaml(path, config)
    assert len(problems(root)) == 1


def test_no_isolation_passes(tmp_path: Path) -> None:
    root = with_requirements(
        project_with_sdk_model(tmp_path / "project"), serving={"network_isolation": False}
    )
    assert problems(root) == []


def test_only_the_isolated_environments_are_named(tmp_path: Path) -> None:
    root = with_requirements(
        project_with_sdk_model(tmp_path / "project"),
        environments={"prod": {"serving": {"network_isolation": False}}},
    )
    found = problems(root)
    assert len(found) == 1 and "with network isolation (staging)" in found[0]


@pytest.mark.parametrize("model", ["iris", "digits"])
def test_the_example_models_pass(model: str) -> None:
    project = load_project(ROOT)
    chosen = [d for d in project.deployments() if d.model_name == model]
    assert chosen and unvendored_problems(project, chosen) == []
