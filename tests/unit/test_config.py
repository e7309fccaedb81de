"""Bad config fails with one readable message naming file, line, field, value and fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from configs.errors import ConfigError
from configs.loader import load_project
from tests.conftest import ROOT, write_yaml


def model_config(root: Path, name: str = "iris") -> Path:
    return root / "models" / name / "config.yaml"


def edit(path: Path, change: Any) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    write_yaml(path, data)


def error_for(root: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_project(root)
    return str(caught.value)


def test_the_repository_configs_load() -> None:
    project = load_project(ROOT)
    assert set(project.environments) == {"staging", "prod"}
    assert "iris" in project.models
    assert "modelkit" in {p.name for p in project.shared_folders}


def test_unknown_key_names_file_line_field_and_suggests_the_spelling(project_copy: Path) -> None:
    path = model_config(project_copy)
    edit(path, lambda d: d["serving"].update(instance_cnt=2))
    message = error_for(project_copy)
    assert "models/iris/config.yaml:" in message
    assert "serving.instance_cnt: unknown key" in message
    assert "did you mean 'instance_count'?" in message


def test_wrong_type_is_an_error_not_a_coercion(project_copy: Path) -> None:
    edit(model_config(project_copy), lambda d: d["serving"].update(instance_count="2"))
    message = error_for(project_copy)
    assert "serving.instance_count" in message
    assert "valid integer" in message and "'2'" in message


def test_out_of_range_value_names_the_range(project_copy: Path) -> None:
    edit(model_config(project_copy), lambda d: d["serving"].update(instance_count=0))
    message = error_for(project_copy)
    assert "serving.instance_count: Input should be greater than or equal to 1 (got 0)" in message
    assert "fix: Instances behind the variant, from 1 to 100." in message


@pytest.mark.parametrize("flag", [True, False])
def test_a_boolean_log_retention_is_an_error_not_one_day(project_copy: Path, flag: bool) -> None:
    """YAML's `true` equals 1, and 1 is a valid retention: found by the config fuzz."""
    edit(project_copy / "configs" / "staging.yaml", lambda d: d.update(log_retention_days=flag))
    message = error_for(project_copy)
    assert "configs/staging.yaml:" in message
    assert f"log_retention_days: a number of days, not {str(flag).lower()}" in message


def test_line_number_points_at_the_bad_key(project_copy: Path) -> None:
    path = model_config(project_copy)
    edit(path, lambda d: d["serving"].update(instance_type="m5.large"))
    lines = path.read_text().splitlines()
    serving = lines.index("serving:")
    expected = next(
        i for i, line in enumerate(lines[serving:], serving + 1) if "instance_type" in line
    )
    assert f"models/iris/config.yaml:{expected}: serving.instance_type" in error_for(project_copy)


def test_missing_weights_file(project_copy: Path) -> None:
    edit(model_config(project_copy), lambda d: d["artifact"].update(weights=["nope.pt"]))
    message = error_for(project_copy)
    assert "artifact" in message and "'nope.pt' does not exist in iris/" in message


def test_missing_shared_folder(project_copy: Path) -> None:
    edit(model_config(project_copy), lambda d: d["artifact"].update(shared=["nothing_here"]))
    assert "shared folder models/nothing_here/ does not exist" in error_for(project_copy)


@pytest.mark.parametrize("path", ["../secrets.pt", "/etc/passwd", "a/../../b.pt"])
def test_weights_outside_the_folder_are_refused(project_copy: Path, path: str) -> None:
    edit(model_config(project_copy), lambda d: d["artifact"].update(weights=[path]))
    assert "must be a relative path inside the model folder" in error_for(project_copy)


def test_entry_point_must_sit_at_the_top_of_the_folder(project_copy: Path) -> None:
    edit(model_config(project_copy), lambda d: d["artifact"].update(entry_point="src/inf.py"))
    assert "at the top of the model folder" in error_for(project_copy)


def test_two_models_with_the_same_name(project_copy: Path) -> None:
    import shutil

    shutil.copytree(project_copy / "models" / "iris", project_copy / "models" / "iris-copy")
    edit(model_config(project_copy, "iris-copy"), lambda d: d.update(name="iris"))
    message = error_for(project_copy)
    assert "model name 'iris' is also used by" in message
    assert "models/iris-copy/config.yaml" in message


def test_folder_name_that_cannot_be_a_stack_name(project_copy: Path) -> None:
    import shutil

    shutil.copytree(project_copy / "models" / "iris", project_copy / "models" / "My_Model")
    message = error_for(project_copy)
    assert "model name 'My_Model' cannot be used in stack and endpoint names" in message
    assert "'my-model'" in message


def test_name_too_long_for_an_endpoint(project_copy: Path) -> None:
    import shutil

    long_name = "m" * 60
    shutil.copytree(project_copy / "models" / "iris", project_copy / "models" / long_name)
    message = error_for(project_copy)
    assert f"model name '{long_name}' is 60 characters" in message
    assert "must fit in 63" in message and "use at most 55 characters" in message


def test_override_for_an_unknown_environment(project_copy: Path) -> None:
    edit(model_config(project_copy), lambda d: d["environments"].update(qa={}))
    message = error_for(project_copy)
    assert "environments" in message and "['qa'] are not environments" in message
    assert "['prod', 'staging']" in message


def test_reserved_container_variables_are_refused(project_copy: Path) -> None:
    edit(
        model_config(project_copy),
        lambda d: d["serving"].update(environment={"SAGEMAKER_PROGRAM": "x.py"}),
    )
    assert "['SAGEMAKER_PROGRAM'] are set by the stack" in error_for(project_copy)


def test_unquoted_account_id_explains_the_quoting(project_copy: Path) -> None:
    path = project_copy / "configs" / "staging.yaml"
    path.write_text(path.read_text().replace('account: "111111111111"', "account: 011111111111"))
    message = error_for(project_copy)
    assert "configs/staging.yaml:" in message and "account" in message
    assert "quoted string of 12 digits" in message


def test_yaml_syntax_error_gives_the_line(project_copy: Path) -> None:
    path = project_copy / "configs" / "prod.yaml"
    path.write_text(path.read_text() + "tags: [unclosed\n")
    message = error_for(project_copy)
    assert "configs/prod.yaml:" in message and "is not valid YAML" in message


def test_every_problem_in_every_file_is_reported_at_once(project_copy: Path) -> None:
    edit(project_copy / "configs" / "staging.yaml", lambda d: d.update(regoin="x"))
    edit(model_config(project_copy), lambda d: d["serving"].update(instance_count=-1))
    with pytest.raises(ConfigError) as caught:
        load_project(project_copy)
    assert len(caught.value.problems) == 2
    assert str(caught.value).startswith("configuration errors (2):")


def test_precedence_model_override_over_model_over_environment_default(project_copy: Path) -> None:
    edit(
        project_copy / "configs" / "staging.yaml",
        lambda d: d["defaults"]["serving"].update(instance_type="ml.c5.xlarge"),
    )
    edit(model_config(project_copy), lambda d: d["serving"].pop("instance_type"))
    deployments = {d.environment_name: d.spec for d in load_project(project_copy).deployments()}
    assert deployments["staging"].serving.instance_type == "ml.c5.xlarge"  # env default
    assert deployments["prod"].serving.instance_type == "ml.m5.large"  # prod's own default
    assert deployments["prod"].serving.instance_count == 2  # model's prod override
    assert deployments["staging"].serving.instance_count == 1


def test_app_prints_the_error_and_exits_1_without_a_traceback(project_copy: Path) -> None:
    edit(model_config(project_copy), lambda d: d["serving"].update(instance_count="many"))
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": f'{{"projectRoot": "{project_copy}"}}',
        "CDK_OUTDIR": str(project_copy / "cdk.out"),
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "serving.instance_count" in result.stderr
    assert "Traceback" not in result.stderr
