"""The SDK-style model (tests/models/trend) through SageMaker's own serving stack, and what
local serving does with code/requirements.txt, as an isolated or a connected container would.

Its weights are reproducible from the script beside them; its bundle (the one synth builds)
serves the toolkit's default output, a plain JSON list, which meets both the default smoke
contract and the model's own expectation."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bundler import build
from configs.loader import load_project
from configs.smoke import Smoke
from ops import serving, smoke
from ops.serving.toolkit import install_requirements
from stacks.app_stacks import bundle_spec
from tests.model_support import SDK_MODEL, project_with_sdk_model

JSON = "application/json"


@pytest.fixture(scope="module", autouse=True)
def serving_environment() -> None:
    if not (serving.SERVE_VENV / "bin" / "torchserve").is_file():
        pytest.fail(f"{serving.SERVE_VENV} is missing: run `make serve-setup` (make test does)")


def test_the_weights_are_made_reproducibly(tmp_path: Path) -> None:
    out = tmp_path / "model.pth"  # torch.save names the archive's folder after the file
    subprocess.run(
        [sys.executable, str(SDK_MODEL / "make_weights.py"), str(out)], check=True, timeout=600
    )
    assert out.read_bytes() == (SDK_MODEL / "model.pth").read_bytes()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[serving.Server, Smoke]]:
    base = tmp_path_factory.mktemp("sdk-serving")
    project = load_project(project_with_sdk_model(base / "project"))
    source = project.models[SDK_MODEL.name]
    bundle = build(bundle_spec(project, source), base / "bundles")
    with serving.serving(bundle.path) as server:
        yield server, source.file.smoke


def test_the_answer_is_the_toolkits_plain_list(served: tuple[serving.Server, Smoke]) -> None:
    server, _ = served
    status, content_type, body = serving.invoke(server, (SDK_MODEL / "example.json").read_bytes())
    assert status == 200 and content_type.startswith(JSON), body
    answer = json.loads(body)
    assert isinstance(answer, list) and [len(pair) for pair in answer] == [2, 2]


def test_the_answer_meets_the_default_contract_and_the_models_expectation(
    served: tuple[serving.Server, Smoke],
) -> None:
    server, expectation = served
    status, content_type, body = serving.invoke(server, (SDK_MODEL / "example.json").read_bytes())
    for config in (Smoke(), expectation):
        assert smoke.check(config, None, status=status, content_type=content_type, body=body) == []
    assert expectation.expect.labels == (1, 0)


# --------------------------------------------------------------------------------------------
# code/requirements.txt: never installed from the network when the container is isolated.
# --------------------------------------------------------------------------------------------


def model_dir(tmp_path: Path, requirements: str) -> Path:
    folder = tmp_path / "model"
    (folder / "code").mkdir(parents=True)
    (folder / "code" / "inference.py").write_text("import tinypkg\n")
    (folder / "code" / "requirements.txt").write_text(requirements)
    return folder


def wheel(folder: Path) -> Path:
    """A pure-Python wheel of `tinypkg` 1.0, so pip can install it with no index."""
    folder.mkdir()
    path = folder / "tinypkg-1.0-py3-none-any.whl"
    info = "tinypkg-1.0.dist-info"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("tinypkg/__init__.py", "VERSION = '1.0'\n")
        archive.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: tinypkg\nVersion: 1.0\n")
        archive.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        archive.writestr(f"{info}/RECORD", "")
    return path


def test_isolated_serving_refuses_packages_it_would_download(tmp_path: Path) -> None:
    folder = model_dir(tmp_path, "tinypkg==1.0\n")
    with pytest.raises(serving.ServeError) as refused:
        serving.start(folder, workdir=tmp_path / "work")
    assert "code/requirements.txt lists 'tinypkg==1.0', which code/ does not vendor" in str(
        refused.value
    )
    assert not (tmp_path / "work" / "packages").exists()


def test_isolated_serving_accepts_vendored_packages(tmp_path: Path) -> None:
    folder = model_dir(tmp_path, "tinypkg==1.0\n")
    with zipfile.ZipFile(wheel(tmp_path / "wheels")) as archive:
        archive.extractall(folder / "code")  # what `pip install --target code/` leaves
    installed = install_requirements(
        model_dir=folder, work=tmp_path, venv=serving.SERVE_VENV, network_isolation=True
    )
    assert installed is None


def test_connected_serving_installs_into_its_own_folder(tmp_path: Path) -> None:
    wheels = wheel(tmp_path / "wheels").parent
    folder = model_dir(tmp_path, f"--no-index\n--find-links {wheels}\ntinypkg==1.0\n")
    installed = install_requirements(
        model_dir=folder, work=tmp_path / "work", venv=serving.SERVE_VENV, network_isolation=False
    )
    assert installed == tmp_path / "work" / "packages"
    assert (installed / "tinypkg" / "__init__.py").is_file()
    env_site = serving.SERVE_VENV / "lib"
    assert not list(env_site.glob("python*/site-packages/tinypkg"))
