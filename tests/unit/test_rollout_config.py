"""Rollout, variants, alarms, autoscaling and data capture in config: defaults, layering and
every combination SageMaker refuses, each reported with file, field path and a fix."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from configs.errors import ConfigError
from configs.loader import load_project
from configs.model import ModelSpec
from tests.conftest import ROOT, write_yaml

Edit = Callable[[dict[str, Any]], None]


def edit(path: Path, change: Edit) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    write_yaml(path, data)


def model(root: Path, name: str = "iris") -> Path:
    return root / "models" / name / "config.yaml"


def error_for(root: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_project(root)
    return str(caught.value)


def specs(root: Path) -> dict[str, ModelSpec]:
    return {d.stack_name: d.spec for d in load_project(root).deployments()}


def add_second_model(root: Path, name: str = "iris-next") -> None:
    shutil.copytree(root / "models" / "iris", root / "models" / name)


def put(section: str, value: Any, env: str | None = None) -> Edit:
    """Set a top-level section of a model file, or of its override for `env`."""

    def change(data: dict[str, Any]) -> None:
        target = data.setdefault("environments", {}).setdefault(env, {}) if env else data
        target[section] = value

    return change


def together(*edits: Edit) -> Edit:
    """Several edits as one, applied in order."""

    def change(data: dict[str, Any]) -> None:
        for each in edits:
            each(data)

    return change


# --- defaults and layering -------------------------------------------------------------------


def test_prod_rolls_out_by_canary_and_staging_all_at_once_by_default() -> None:
    resolved = specs(ROOT)
    prod, staging = resolved["Prod-iris"], resolved["Staging-iris"]
    assert prod.rollout.strategy == "canary"
    assert prod.rollout.canary.size == "10%"
    assert prod.rollout.canary.bake_seconds == 600
    assert staging.rollout.strategy == "all_at_once"
    assert prod.autoscaling.enabled and not staging.autoscaling.enabled
    assert prod.data_capture.enabled and not staging.data_capture.enabled


def test_a_model_overrides_its_rollout_per_environment(project_copy: Path) -> None:
    edit(
        model(project_copy),
        put("rollout", {"strategy": "linear", "linear": {"step": "25%"}}, env="prod"),
    )
    prod = specs(project_copy)["Prod-iris"]
    assert prod.rollout.strategy == "linear"
    assert prod.rollout.linear.step == "25%"
    # Fields the override leaves out keep the environment's defaults.
    assert prod.rollout.termination_wait_seconds == 300


def test_an_alarm_override_keeps_that_alarms_own_defaults(project_copy: Path) -> None:
    edit(model(project_copy), put("alarms", {"error_rate_4xx": {"enabled": True}}))
    alarms = specs(project_copy)["Staging-iris"].alarms
    assert alarms.error_rate_4xx.enabled
    assert alarms.error_rate_4xx.threshold == 5.0
    assert alarms.model_latency_p99.threshold == 500.0


def test_variants_fill_instance_settings_from_serving(project_copy: Path) -> None:
    add_second_model(project_copy)
    edit(
        model(project_copy),
        put(
            "variants",
            {"champion": {"weight": 90}, "challenger": {"weight": 10, "model": "iris-next"}},
        ),
    )
    variants = specs(project_copy)["Prod-iris"].production_variants()
    assert list(variants) == ["champion", "challenger"]
    assert variants["champion"].instance_count == 2  # prod's serving default
    assert variants["challenger"].model == "iris-next"


# --- every invalid combination ---------------------------------------------------------------

ALARM_NAMES = (
    "error_rate_5xx",
    "error_rate_4xx",
    "model_latency_p99",
    "overhead_latency_p99",
    "cpu_utilization",
    "memory_utilization",
    "disk_utilization",
)

INVALID: dict[str, tuple[Edit, list[str]]] = {
    "canary above 50 percent": (
        put("rollout", {"strategy": "canary", "canary": {"size": "60%"}}),
        ["rollout.canary.size", "a canary must be 1-50% of the variant's instances"],
    ),
    "canary of more instances than half the fleet": (
        put("rollout", {"canary": {"size": 2}}, env="prod"),
        ["rollout.canary.size", "more than 50% of a variant with 2 instance(s)"],
    ),
    "linear step below 10 percent": (
        put("rollout", {"strategy": "linear", "linear": {"step": "5%"}}),
        ["rollout.linear.step", "a linear step must be 10-50%"],
    ),
    "linear step of every instance": (
        put("rollout", {"strategy": "linear", "linear": {"step": 2}}, env="prod"),
        ["rollout.linear.step", "must be 10-50% of every variant's instances"],
    ),
    "rolling batch above 50 percent": (
        put("rollout", {"strategy": "rolling", "rolling": {"batch": "60%"}}),
        ["rollout.rolling.batch", "a rolling batch must be 5-50%"],
    ),
    "rolling rollback batch larger than the fleet": (
        put("rollout", {"strategy": "rolling", "rolling": {"batch": 1, "rollback_batch": 3}}),
        ["rollout.rolling.rollback_batch", "more than the variant's"],
    ),
    "bake time out of range": (
        put("rollout", {"canary": {"bake_seconds": 4000}}),
        ["rollout.canary.bake_seconds", "less than or equal to 3600"],
    ),
    "maximum execution time out of range": (
        put("rollout", {"max_execution_seconds": 300}),
        ["rollout.max_execution_seconds", "greater than or equal to 600"],
    ),
    "maximum execution time shorter than the waits": (
        put("rollout", {"canary": {"bake_seconds": 1800}}, env="prod"),
        ["rollout.max_execution_seconds", "does not exceed the 3900 s"],
    ),
    "termination wait out of range": (
        put("rollout", {"termination_wait_seconds": 7200}),
        ["rollout.termination_wait_seconds", "less than or equal to 3600"],
    ),
    "more than ten rollback alarms": (
        together(
            put("variants", {"champion": {"weight": 1}, "challenger": {"weight": 1}}),
            put("alarms", {name: {"rollback": True, "enabled": True} for name in ALARM_NAMES}),
        ),
        ["alarms", "14 rollback alarms (2 production variants", "takes at most 10"],
    ),
    "rolling with several variants": (
        together(
            put("variants", {"champion": {"weight": 1}, "challenger": {"weight": 1}}),
            put("rollout", {"strategy": "rolling"}),
        ),
        ["rollout.strategy", "rolling updates do not support endpoints with several"],
    ),
    "rolling on serverless": (
        together(
            put("variants", {"primary": {"serverless": {"memory_mb": 2048}}}),
            put("serving", {"network_isolation": False}),
            put("rollout", {"strategy": "rolling"}),
        ),
        ["rollout.strategy", "a serverless endpoint updates all at once"],
    ),
    "canary on serverless (prod's default)": (
        together(
            put("variants", {"primary": {"serverless": {"memory_mb": 2048}}}),
            put("serving", {"network_isolation": False}),
            put("data_capture", {"enabled": False}, env="prod"),
            put("autoscaling", {"enabled": False}, env="prod"),
        ),
        ["environments.prod -> rollout.strategy", "canary deployment guardrails need instances"],
    ),
    "serverless with network isolation": (
        put("variants", {"primary": {"serverless": {"memory_mb": 2048}}}),
        ["serving.network_isolation", "does not support network isolation"],
    ),
    "serverless with data capture": (
        together(
            put("variants", {"primary": {"serverless": {"memory_mb": 2048}}}),
            put("serving", {"network_isolation": False}),
            put("data_capture", {"enabled": True}),
        ),
        ["data_capture.enabled", "does not support data capture"],
    ),
    "serverless beside another variant": (
        together(
            put(
                "variants",
                {"champion": {"serverless": {"memory_mb": 2048}}, "challenger": {"weight": 1}},
            ),
            put("serving", {"network_isolation": False}),
        ),
        ["variants.champion.serverless", "exactly one production variant"],
    ),
    "serverless with an instance count": (
        put("variants", {"primary": {"serverless": {"memory_mb": 2048}, "instance_count": 2}}),
        ["variants.primary.serverless", "has no instance_type or instance_count"],
    ),
    "serverless memory not a whole GB": (
        put("variants", {"primary": {"serverless": {"memory_mb": 1500}}}),
        ["variants.primary.serverless.memory_mb"],
    ),
    "provisioned concurrency above the maximum": (
        put(
            "variants",
            {"primary": {"serverless": {"max_concurrency": 2, "provisioned_concurrency": 5}}},
        ),
        ["provisioned_concurrency", "above max_concurrency 2"],
    ),
    "variant named after a version": (
        put("variants", {"primary-v2": {"weight": 1}}),
        ["variants.primary-v2", "looks like a model version"],
    ),
    "variant named after its model": (
        put("variants", {"iris-next": {"model": "iris-next"}}),
        ["variants.iris-next", "keep its name from one version to the next"],
    ),
    "weights that send traffic nowhere": (
        put("variants", {"champion": {"weight": 0}, "challenger": {"weight": 0}}),
        ["variants", "every production variant has weight 0"],
    ),
    "negative weight": (
        put("variants", {"champion": {"weight": -1}}),
        ["variants.champion.weight", "greater than or equal to 0"],
    ),
    "shadow beside two production variants": (
        together(
            put("variants", {"champion": {"weight": 1}, "challenger": {"weight": 1}}),
            put("shadow_variants", {"candidate": {"sampling_percent": 50}}),
        ),
        ["shadow_variants", "pairs one production variant with one shadow variant"],
    ),
    "shadow named like a production variant": (
        together(
            put("variants", {"champion": {"weight": 1}}),
            put("shadow_variants", {"champion": {}}),
        ),
        ["shadow_variants.champion", "also a production variant"],
    ),
    "variant of a folder that is not a model": (
        put("variants", {"challenger": {"model": "modelkit"}}),
        ["variants.challenger.model", "models/modelkit/ is not a model folder"],
    ),
    "variant with a folder and an S3 archive": (
        put(
            "variants",
            {
                "challenger": {
                    "model": "iris-next",
                    "model_data": {"s3_uri": "s3://bucket/m.tar.gz", "sha256": "a" * 64},
                }
            },
        ),
        ["variants.challenger.model_data", "not both"],
    ),
    "S3 archive without a digest": (
        put("variants", {"challenger": {"model_data": {"s3_uri": "s3://bucket/m.tar.gz"}}}),
        ["variants.challenger.model_data.sha256: is required"],
    ),
    "autoscaling minimum above maximum": (
        put("autoscaling", {"enabled": True, "min_instances": 5, "max_instances": 2}),
        ["autoscaling.min_instances", "above max_instances 2"],
    ),
    "instance count outside the autoscaling range": (
        put("serving", {"instance_count": 6}, env="prod"),
        ["environments.prod -> autoscaling", "starts with 6 instances, outside autoscaling's 2-4"],
    ),
    "datapoints beyond the evaluation periods": (
        put("alarms", {"model_latency_p99": {"evaluation_periods": 2, "datapoints_to_alarm": 3}}),
        ["alarms.model_latency_p99.datapoints_to_alarm", "cannot fire within 2"],
    ),
    "alarm period not whole minutes": (
        put("alarms", {"error_rate_5xx": {"period_seconds": 90}}),
        ["alarms.error_rate_5xx.period_seconds", "multiple of 60"],
    ),
    "sampling above 100 percent": (
        put("data_capture", {"enabled": True, "sampling_percent": 150}),
        ["data_capture.sampling_percent", "less than or equal to 100"],
    ),
    "unknown strategy": (
        put("rollout", {"strategy": "blue_green"}),
        ["rollout.strategy", "'all_at_once', 'canary', 'linear' or 'rolling'"],
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_combination_names_the_field(project_copy: Path, case: str) -> None:
    change, expected = INVALID[case]
    add_second_model(project_copy)
    edit(model(project_copy), change)
    message = error_for(project_copy)
    assert "models/iris/config.yaml" in message
    for text in expected:
        assert text in message, message


def test_environment_defaults_are_checked_against_each_model(project_copy: Path) -> None:
    edit(
        project_copy / "configs" / "prod.yaml",
        lambda d: d["defaults"]["rollout"].update(canary={"size": 5}),
    )
    message = error_for(project_copy)
    assert "environments.prod -> rollout.canary.size" in message
    assert "use at most 1 or a percentage" in message


def test_range_errors_in_an_environment_file_name_its_line(project_copy: Path) -> None:
    path = project_copy / "configs" / "staging.yaml"
    edit(path, lambda d: d["defaults"]["rollout"].update(all_at_once={"bake_seconds": -1}))
    lines = path.read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "bake_seconds" in text)
    message = error_for(project_copy)
    assert f"configs/staging.yaml:{line}: defaults.rollout.all_at_once.bake_seconds" in message
    assert "fix: Seconds the new fleet bakes" in message
