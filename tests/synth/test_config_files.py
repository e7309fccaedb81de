"""Every config file in the repository loads, matches its schema and becomes stacks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

from configs.loader import load_project
from configs.schema_gen import SCHEMA_DIR, SCHEMAS, render
from tests.conftest import ROOT, Synthesized, synthesize

ENV_FILES = sorted((ROOT / "configs").glob("*.yaml"))
MODEL_FILES = sorted((ROOT / "models").glob("*/config.yaml"))


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", ENV_FILES + MODEL_FILES, ids=rel)
def test_config_file_validates_against_its_schema(path: Path) -> None:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema="), "editors need the schema link"
    schema_path = (path.parent / first.split("$schema=", 1)[1].strip()).resolve()
    assert schema_path.parent == SCHEMA_DIR
    jsonschema.validate(yaml.safe_load(path.read_text()), json.loads(schema_path.read_text()))


@pytest.mark.parametrize("path", ENV_FILES, ids=rel)
def test_environment_file_synthesizes_a_stack_per_model(synth: Synthesized, path: Path) -> None:
    prefix = yaml.safe_load(path.read_text())["prefix"]
    assert {f"{prefix}-{name}" for name in synth.project.models} <= set(synth.templates)


@pytest.mark.parametrize("path", MODEL_FILES, ids=rel)
def test_model_file_synthesizes_a_stack_per_environment(synth: Synthesized, path: Path) -> None:
    name = yaml.safe_load(path.read_text()).get("name") or path.parent.name
    prefixes = [env.prefix for env in synth.project.environments.values()]
    assert {f"{prefix}-{name}" for prefix in prefixes} <= set(synth.templates)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_committed_schema_is_current(name: str) -> None:
    committed = (SCHEMA_DIR / name).read_text()
    assert committed == render(SCHEMAS[name]), "schema is stale: run `make schemas`"


def test_copying_a_model_folder_adds_two_stacks(
    synth: Synthesized, project_copy: Path, tmp_path: Path
) -> None:
    """The copy's stacks are found and built with no other edit; the other models' stacks are
    the session's (`test_model_file_synthesizes_a_stack_per_environment`), so only the new
    folder's are synthesized here."""
    shutil.copytree(project_copy / "models" / "iris", project_copy / "models" / "iris-copy")
    stacks = {d.stack_name for d in load_project(project_copy).deployments()}
    assert stacks == set(synth.templates) | {"Staging-iris-copy", "Prod-iris-copy"}
    result = synthesize(project_copy, tmp_path / "out", tmp_path / "cache", stacks=("*-copy",))
    assert set(result.templates) == {"Staging-iris-copy", "Prod-iris-copy"}
    assert result.bundles["iris-copy"].sha256 == synth.bundles["iris"].sha256
