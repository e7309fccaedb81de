"""An environment's `tracking` section: off by default, and each bad value names the field and
the fix, as every config error does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from configs.errors import ConfigError
from configs.loader import load_project
from tests.conftest import ROOT, write_yaml


def with_tracking(root: Path, mlflow: Any) -> None:
    path = root / "configs" / "staging.yaml"
    data = yaml.safe_load(path.read_text())
    data["tracking"] = {"mlflow": mlflow}
    write_yaml(path, data)


def test_tracking_is_off_unless_an_environment_turns_it_on(project_copy: Path) -> None:
    for environment in load_project(ROOT).environments.values():
        assert not environment.tracking.mlflow.enabled
    with_tracking(project_copy, {"enabled": True, "server_size": "Medium", "mlflow_version": "3.0"})
    mlflow = load_project(project_copy).environments["staging"].tracking.mlflow
    assert (mlflow.enabled, mlflow.server_size, mlflow.mlflow_version) == (True, "Medium", "3.0")


@pytest.mark.parametrize(
    ("mlflow", "expected"),
    [
        ({"enabled": "yes please"}, "tracking.mlflow.enabled: Input should be a valid boolean"),
        ({"server_size": "small"}, "tracking.mlflow.server_size: Input should be 'Small'"),
        ({"mlflow_version": 3.0}, "as a quoted string, for example '3.0'"),
        ({"maintenance_window": "Sunday 3am"}, "as 'Day:HH:MM', for example 'Sun:03:00'"),
        ({"enable": True}, "tracking.mlflow.enable: unknown key"),
    ],
)
def test_a_bad_tracking_value_names_the_field_and_the_fix(
    project_copy: Path, mlflow: dict[str, Any], expected: str
) -> None:
    with_tracking(project_copy, mlflow)
    with pytest.raises(ConfigError) as caught:
        load_project(project_copy)
    message = str(caught.value)
    assert "configs/staging.yaml:" in message
    assert expected in message
