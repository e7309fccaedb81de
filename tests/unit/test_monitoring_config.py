"""monitoring.data_quality: every mistake a person can make gives the field and the fix."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest

from configs.loader import load_project
from configs.serving import CaptureTypes, capture_types
from tests.conftest import ROOT
from tests.unit.test_config import edit, error_for, model_config


def quality(data: dict[str, Any]) -> Any:
    return data["monitoring"]["data_quality"]


def test_both_example_models_monitor_in_prod_only() -> None:
    project = load_project(ROOT)
    on = {key for key, spec in project.resolved.items() if spec.monitoring.data_quality.enabled}
    assert on == {("prod", "iris"), ("prod", "digits")}
    iris = project.resolved["prod", "iris"].monitoring.data_quality
    assert iris.features == ("sepal_length", "sepal_width", "petal_length", "petal_width")
    assert (iris.cron, iris.drift_threshold) == ("cron(0 * ? * * *)", 0.1)


def test_the_committed_digits_baseline_is_what_its_script_writes() -> None:
    from models.digits.data.make_baseline import OUTPUT, header, render

    assert OUTPUT.read_bytes() == render()
    first = gzip.decompress(OUTPUT.read_bytes()).decode().splitlines()[0]
    assert first.split(",") == header() and len(header()) == 64


def test_data_capture_declares_the_text_types_a_model_is_sent_and_answers() -> None:
    # Undeclared types are captured as BASE64; the SDK's defaults are always declared.
    assert capture_types([]) == CaptureTypes(csv=("text/csv",), json=("application/json",))
    assert capture_types(
        ["application/jsonlines; charset=utf-8", "application/x-npy", "Text/CSV", "image/png"]
    ) == CaptureTypes(csv=("text/csv",), json=("application/json", "application/jsonlines"))


def test_data_capture_reads_the_smoke_and_evaluation_types(project_copy: Path) -> None:
    edit(
        model_config(project_copy),
        lambda d: d["evaluation"].update(accept="application/x-jsonlines"),
    )
    iris = load_project(project_copy).resolved["prod", "iris"]
    assert iris.capture_types().json == ("application/json", "application/x-jsonlines")


def test_monitoring_needs_data_capture(project_copy: Path) -> None:
    edit(
        model_config(project_copy),
        lambda d: d["environments"]["prod"].update(data_capture={"enabled": False}),
    )
    message = error_for(project_copy)
    assert "environments.prod -> data_capture.enabled" in message
    assert "turn on data_capture" in message


def test_monitoring_needs_captured_input(project_copy: Path) -> None:
    edit(
        model_config(project_copy),
        lambda d: d["environments"]["prod"].update(data_capture={"capture": ["output"]}),
    )
    assert "add 'input' to capture" in error_for(project_copy)


def test_monitoring_needs_some_sampling(project_copy: Path) -> None:
    edit(
        model_config(project_copy),
        lambda d: d["environments"]["prod"].update(data_capture={"sampling_percent": 0}),
    )
    assert "sampling_percent 0 captures nothing" in error_for(project_copy)


def test_monitoring_needs_data(project_copy: Path) -> None:
    edit(model_config(project_copy), lambda d: quality(d).pop("data"))
    message = error_for(project_copy)
    assert "environments.prod -> monitoring.data_quality.data" in message
    assert "set data to a CSV file" in message


def test_the_data_file_must_exist(project_copy: Path) -> None:
    edit(model_config(project_copy), lambda d: quality(d).update(data="data/train.csv"))
    message = error_for(project_copy)
    assert "monitoring.data_quality.data" in message
    assert "'data/train.csv' does not exist in iris/" in message


def test_the_data_file_stays_in_the_model_folder(project_copy: Path) -> None:
    edit(model_config(project_copy), lambda d: quality(d).update(data="../digits/data/x.csv"))
    assert "must be a relative path inside the model folder" in error_for(project_copy)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "is empty"),
        ("5.1,3.5\n4.9,3.0\n", "the first row is numbers, not column names"),
        ("a,a\n1,2\n", "the first row must name every column once"),
        ("sepal_length,sepal_width,petal_length,petal_width\n", "has a header and no rows"),
    ],
)
def test_the_data_file_must_parse(project_copy: Path, text: str, expected: str) -> None:
    (project_copy / "models" / "iris" / "data" / "iris.csv").write_text(text)
    message = error_for(project_copy)
    assert "data/iris.csv: " + expected in message


def test_a_gzip_that_is_not_one_is_reported(project_copy: Path) -> None:
    (project_copy / "models" / "digits" / "data" / "baseline.csv.gz").write_bytes(b"plain")
    assert "cannot be read as a UTF-8 CSV file" in error_for(project_copy)


def test_features_must_be_columns_of_the_data(project_copy: Path) -> None:
    edit(model_config(project_copy), lambda d: quality(d).update(features=["petal_area"]))
    message = error_for(project_copy)
    assert "no column ['petal_area']" in message and "fix 'features'" in message


def test_features_are_listed_once(project_copy: Path) -> None:
    twice = ["sepal_length", "sepal_length"]
    edit(model_config(project_copy), lambda d: quality(d).update(features=twice))
    assert "['sepal_length'] listed twice" in error_for(project_copy)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("schedule", "weekly", "monitoring.data_quality.schedule"),
        ("drift_threshold", 0, "greater than 0"),
        ("drift_threshold", 1.5, "less than or equal to 1"),
        ("enabled", "yes", "valid boolean"),
    ],
)
def test_bad_values_name_the_field(
    project_copy: Path, field: str, value: Any, expected: str
) -> None:
    edit(model_config(project_copy), lambda d: quality(d).update({field: value}))
    assert expected in error_for(project_copy)


def test_an_environment_can_turn_monitoring_on(project_copy: Path) -> None:
    edit(
        model_config(project_copy),
        lambda d: (
            d["environments"]
            .setdefault("staging", {})
            .update(
                monitoring={"data_quality": {"enabled": True, "schedule": "daily"}},
                data_capture={"enabled": True},
            )
        ),
    )
    spec = load_project(project_copy).resolved["staging", "iris"].monitoring.data_quality
    assert (spec.enabled, spec.cron, spec.data) == (True, "cron(0 0 ? * * *)", "data/iris.csv")
