"""The evaluation section and the quality bar: what can be checked without a model fails when the
configs load, as a ConfigError naming the file and the field, never a traceback."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from configs.errors import ConfigError
from configs.evaluation import metric_kind, parse_path, read_set
from configs.loader import load_project
from ops.evaluation.held_out import draw
from tests.conftest import ROOT, write_yaml
from tests.model_support import MODELS


def edit(root: Path, change: Callable[[dict[str, Any]], None], model: str = "iris") -> Path:
    path = root / "models" / model / "config.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    write_yaml(path, data)
    return path


def problems(root: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_project(root)
    return str(caught.value)


def write_set(root: Path, lines: list[str], model: str = "iris") -> None:
    (root / "models" / model / "evaluation.jsonl").write_text("".join(f"{x}\n" for x in lines))


def test_the_example_models_have_labelled_evaluation_sets() -> None:
    project = load_project(ROOT)
    for name in MODELS:
        file = project.models[name].file
        assert file.evaluation is not None and file.quality is not None
        found = read_set(project.models[name].folder / file.evaluation.file)
        assert found.labelled and len(found.cases) >= 30


@pytest.mark.parametrize(("model", "per_class"), [("iris", 10), ("digits", 20)])
def test_the_committed_sets_are_the_held_out_draw(model: str, per_class: int) -> None:
    folder = ROOT / "models" / model
    lines = draw(folder, per_class=per_class)
    assert (folder / "evaluation.jsonl").read_text() == "".join(f"{x}\n" for x in lines)


def test_a_missing_file_names_the_file_and_field(project_copy: Path) -> None:
    edit(project_copy, lambda d: d["evaluation"].update(file="missing.jsonl"))
    message = problems(project_copy)
    assert "models/iris/config.yaml:" in message and "evaluation.file:" in message
    assert "'missing.jsonl' does not exist in iris/" in message


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("{not json", "line 2: not valid JSON"),
        ('{"labels": ["setosa"]}', 'line 2: each line is an object {"request": ...'),
        ('{"request": [1, 2, 3, 4], "labels": "setosa"}', "'labels' must be a non-empty list"),
        ('{"request": [1, 2, 3, 4], "label": "a", "labels": ["a"]}', "not both"),
        ('{"request": [1, 2, 3, 4], "labels": [["a"]]}', "labels must be strings or integers"),
        ('{"request": [1, 2, 3, 4], "labels": ["a"], "note": 1}', "unknown key(s) ['note']"),
        ('{"request": [1, 2, 3, 4]}', "line 2: no 'labels'; with label_path set"),
    ],
)
def test_a_malformed_line_names_the_file_field_and_line(
    project_copy: Path, line: str, says: str
) -> None:
    write_set(project_copy, ['{"request": [[5.1, 3.5, 1.4, 0.2]], "labels": ["setosa"]}', line])
    message = problems(project_copy)
    assert "evaluation.file: evaluation.jsonl" in message
    assert says in message
    assert "Traceback" not in message


def test_an_empty_set_is_refused(project_copy: Path) -> None:
    write_set(project_copy, [])
    assert "has no requests" in problems(project_copy)


@pytest.mark.parametrize("path", ["predictions[*].", "predictions..label", "[x]", "a b", ""])
def test_a_label_path_that_does_not_parse(project_copy: Path, path: str) -> None:
    edit(project_copy, lambda d: d["evaluation"].update(label_path=path))
    message = problems(project_copy)
    assert "evaluation.label_path:" in message and "is not a label path" in message


def test_label_paths_parse() -> None:
    assert parse_path("predictions[*].label") == (
        ("key", "predictions"),
        ("each", None),
        ("key", "label"),
    )
    assert parse_path("[*]") == (("each", None),)
    assert parse_path("outputs.scores[0]") == (("key", "outputs"), ("key", "scores"), ("index", 0))


@pytest.mark.parametrize(
    ("quality", "field", "says"),
    [
        ({"threshold": 1.5}, "quality.threshold", "no model can reach it"),
        ({"threshold": 0}, "quality.threshold", "every model passes it"),
        ({"threshold": -0.2}, "quality.threshold", "every model passes it"),
        ({"greater_is_better": False}, "quality.greater_is_better", "better when higher"),
        ({"max_regression": 1}, "quality.max_regression", "never fails"),
        ({"max_regression": -0.1}, "quality.max_regression", "greater than or equal to 0"),
        (
            {"metric": "test_error_rate", "greater_is_better": False, "threshold": 1},
            "quality.threshold",
            "every model passes it",
        ),
    ],
)
def test_a_quality_bar_that_gates_nothing_is_refused(
    project_copy: Path, quality: dict[str, Any], field: str, says: str
) -> None:
    edit(project_copy, lambda d: d["quality"].update(quality))
    message = problems(project_copy)
    assert f"{field}:" in message and says in message


def test_a_metric_the_evaluation_cannot_compute_is_refused(project_copy: Path) -> None:
    edit(project_copy, lambda d: d["quality"].update(metric="test_loss", greater_is_better=False))
    message = problems(project_copy)
    assert "quality.metric:" in message and "not 'test_loss'" in message


def test_a_bar_on_an_evaluation_without_labels_is_refused(project_copy: Path) -> None:
    edit(project_copy, lambda d: d["evaluation"].pop("label_path"))
    message = problems(project_copy)
    assert "evaluation.label_path:" in message and "computed from the labels" in message


def test_a_loss_bar_without_an_evaluation_still_loads(project_copy: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        data.pop("evaluation")
        data.pop("smoke")  # its expected labels are read at the evaluation's label path
        data["quality"].update(metric="test_loss", greater_is_better=False, threshold=0.3)

    edit(project_copy, change)
    assert load_project(project_copy).models["iris"].file.evaluation is None


def test_the_evaluation_is_the_same_in_every_environment(project_copy: Path) -> None:
    edit(project_copy, lambda d: d["environments"]["prod"].update(evaluation={"file": "x.jsonl"}))
    assert "environments.prod.evaluation: unknown key" in problems(project_copy)


def test_requests_are_sent_as_written() -> None:
    cases = read_set(ROOT / "models" / "iris" / "evaluation.jsonl").cases
    first = json.loads((ROOT / "models" / "iris" / "evaluation.jsonl").read_text().splitlines()[0])
    assert json.loads(cases[0].body) == first["request"]
    assert cases[0].labels == tuple(first["labels"]) and cases[0].line == 1


def test_metric_names_are_read_by_their_last_word() -> None:
    assert metric_kind("test_accuracy") == "accuracy"
    assert metric_kind("accuracy") == "accuracy"
    assert metric_kind("holdout_error_rate") == "error_rate"
    assert metric_kind("test_loss") is None
