"""The PR diff's model section on real synthesized assemblies, bundles evaluated in .venv-serve.

The base is the project plus `plain`, a copy of iris whose handlers keep only `model_fn`, so the
inference toolkit's default input, predict and output functions answer (a bare JSON list of
class scores, no `predictions` key). Three PR-like heads change it: every model retrained with
another seed (its runs recorded in a temporary MLflow store, which the diff links); a handler
change in iris (petal width read in other units) and in digits (pixels capped at 10) that flips
some answers; untrained weights in iris and digits (the gate fails, the label lets it pass).
Evaluation sections that do not fit the head's model fail the diff with one line naming the file
and field.

Only the Prod stacks are synthesized on each side (what `ops diff-synth` does for a change, with
one environment instead of both): every environment ships the same bundle, and the model section
reads it from any stack. The diffs share one evaluation cache (`--evaluation-cache`), as a PR's
pushes do: a pair of bundles evaluated by one test is not evaluated again by the next (the
misfit tests differ from the worse head in iris only, so digits comes from the cache).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from ops.diff import command
from ops.diff.command import EXIT_REGRESSION
from ops.serving import SERVE_VENV
from tests.conftest import copy_project, synthesize
from tests.gate_support import gate
from tests.model_support import load

STACKS = ("Prod-*",)  # one environment: the bundles are the same in every one

PLAIN_HANDLERS = '''"""Iris with the inference toolkit's defaults: only model_fn is given, so
a request is a bare JSON list of rows and the answer the raw class scores as a JSON list."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for _path in (HERE.parent, HERE):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import torch  # noqa: E402
from model import IrisNet  # noqa: E402


def model_fn(model_dir):
    saved = torch.load(Path(model_dir) / "model.pt", map_location="cpu", weights_only=True)
    model = IrisNet(hidden=int(saved["hidden"]))
    model.load_state_dict(saved["state_dict"])
    return model.eval()
'''


@pytest.fixture(scope="module", autouse=True)
def serving_environment() -> None:
    if not (SERVE_VENV / "bin" / "python").is_file():
        pytest.fail(f"{SERVE_VENV} is missing: run `make serve-setup` (make test does)")


def edit_config(folder: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = folder / "config.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def add_plain_model(root: Path) -> None:
    """`plain`: iris served by the toolkit's default handlers, labels as class indices."""
    iris, plain = root / "models" / "iris", root / "models" / "plain"
    shutil.copytree(iris, plain)
    (plain / "inference.py").write_text(PLAIN_HANDLERS)
    classes = ["setosa", "versicolor", "virginica"]
    lines = []
    for line in (iris / "evaluation.jsonl").read_text().splitlines():
        case = json.loads(line)
        rows = case["request"]["instances"]
        lines.append(
            json.dumps({"request": rows, "labels": [classes.index(x) for x in case["labels"]]})
        )
    (plain / "evaluation.jsonl").write_text("".join(f"{line}\n" for line in lines))

    def change(data: dict[str, Any]) -> None:
        data.pop("training")
        data["environments"]["prod"].pop("training")
        data["evaluation"] = {
            "file": "evaluation.jsonl",
            "label_path": "[*]",
            "label_from": "argmax",
        }

    edit_config(plain, change)


def retrain(folder: Path, work: Path, *, seed: int, epochs: int, tracking_uri: str) -> None:
    """train.py with another seed (SageMaker's training contract), its weights into `folder`,
    the run recorded in MLflow at `tracking_uri` (as `make train` records it). `epochs`: the
    tests need other weights and a run behind them, not a model as good as the committed one."""
    out = work / f"train-{folder.name}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MODELKIT_"))}
    subprocess.run(
        [sys.executable, str(folder / "train.py"), "--seed", str(seed), "--epochs", str(epochs)],
        env={
            **env,
            "SM_MODEL_DIR": str(out / "model"),
            "SM_OUTPUT_DATA_DIR": str(out / "out"),
            "MLFLOW_TRACKING_URI": tracking_uri,
        },
        check=True,
        capture_output=True,
        timeout=600,
    )
    shutil.copy(out / "model" / "model.pt", folder / "model.pt")


def untrain(folder: Path, size_key: str) -> None:
    """Replace the weights with a freshly initialised network of the same shape."""
    saved = torch.load(folder / "model.pt", map_location="cpu", weights_only=True)
    network = next(
        value
        for name, value in vars(load(folder, "model")).items()
        if name.endswith("Net") and isinstance(value, type)
    )
    torch.manual_seed(0)
    fresh = network(**{size_key: int(saved[size_key])})
    torch.save({**saved, "state_dict": fresh.state_dict()}, folder / "model.pt")


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Source trees and assemblies: base, retrained, handlers, worse."""
    work = tmp_path_factory.mktemp("model-diff")
    cache = work / "bundles"
    roots = {"base": copy_project(work / "base")}
    add_plain_model(roots["base"])
    for name in ("retrained", "handlers", "worse"):
        roots[name] = work / name
        shutil.copytree(roots["base"], roots[name])
    (work / "mlflow").mkdir()
    found = {"mlflow": work / "mlflow" / "mlflow.db"}
    for model, epochs in (("iris", 60), ("digits", 8)):
        retrain(
            roots["retrained"] / "models" / model,
            work,
            seed=11,
            epochs=epochs,
            tracking_uri=f"sqlite:///{found['mlflow']}",
        )
    shutil.copy(
        roots["retrained"] / "models" / "iris" / "model.pt", roots["retrained"] / "models" / "plain"
    )
    replace_in(
        roots["handlers"] / "models" / "iris" / "inference.py",
        "        return decode_batch(body, content_type, shapes=[(len(FEATURES),)])\n",
        "        batch = decode_batch(body, content_type, shapes=[(len(FEATURES),)])\n"
        "        batch[:, 3] *= 1.2  # petal width read in other units\n"
        "        return batch\n",
    )
    replace_in(
        roots["handlers"] / "models" / "digits" / "inference.py",
        "return torch.softmax(model(data), dim=1)",
        "return torch.softmax(model(data.clamp(max=10)), dim=1)",
    )
    untrain(roots["worse"] / "models" / "iris", "hidden")
    untrain(roots["worse"] / "models" / "digits", "channels")
    found.update(roots)
    found["evaluations"] = work / "evaluations"
    for name, root in roots.items():
        found[f"{name}.out"] = synthesize(root, work / f"{name}.out", cache, stacks=STACKS).outdir
    return found


def diff(
    project: dict[str, Path], head: str, tmp_path: Path, *extra: str, source: Path | None = None
) -> tuple[int, str]:
    output = tmp_path / f"{head}.md"
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    arguments = [
        "--base", str(project["base.out"]), "--head", str(project[f"{head}.out"]),
        "--project", str(source or project[head]), "--base-project", str(project["base"]),
        "--output", str(output), "--evaluation-cache", str(project["evaluations"]), *extra,
    ]  # fmt: skip
    code = command.run(parser.parse_args(arguments))
    return code, output.read_text() if output.exists() else ""


def block(markdown: str, model: str) -> str:
    start = markdown.index(f"#### `{model}`")
    end = markdown.find("\n#### ", start + 1)
    return markdown[start : end if end > 0 else markdown.index("### Model `", start)]


def metric(markdown: str, model: str) -> tuple[float, float]:
    row = next(line for line in block(markdown, model).splitlines() if "evaluation answers" in line)
    base, head = (cell.strip().strip("*⛔ ") for cell in row.split("|")[2:4])
    return float(base), float(head)


@pytest.fixture(scope="module")
def retrained(
    project: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[int, str]:
    store = f"sqlite:///{project['mlflow']}"
    work = tmp_path_factory.mktemp("retrained")
    return diff(project, "retrained", work, "--fail-on-regression", "--tracking-uri", store)


def test_retrained_weights_show_the_metric_and_the_changed_answers(retrained) -> None:
    code, markdown = retrained
    assert "### Model changes" in markdown
    for model in ("iris", "digits", "plain"):
        text = block(markdown, model)
        assert f"#### `{model}`: new model version" in text
        base, head = metric(markdown, model)
        assert 0.9 <= base <= 1 and 0 <= head <= 1
        assert "| answers changed |" in text and "latency per request, median (indicative)" in text
        assert "Largest numeric changes:" in text
    assert metric(markdown, "digits")[0] == 0.99  # the committed weights: 198 of 200
    assert "| hyperparameter" not in markdown  # retraining changed weights, not config
    regressed = "> **Model quality below the bar or regressed:**" in markdown
    assert code == (EXIT_REGRESSION if regressed else 0)


def test_the_run_behind_the_retrained_weights_is_named(retrained) -> None:
    """The retraining recorded its runs; the committed base weights have none in that store."""
    markdown = retrained[1]
    assert "Training runs found by weights sha256 in sqlite:///" in markdown
    for model, trained_by in (("iris", "iris"), ("digits", "digits"), ("plain", "iris")):
        text = block(markdown, model)
        row = next(line for line in text.splitlines() if line.startswith("| training run "))
        base, head = (cell.strip() for cell in row.split("|")[2:4])
        assert base == "no tracked run", model
        assert head.startswith("`run-") and f" in experiment `{trained_by}`" in head, model
        assert "seed=11" in text, model  # the run's parameters
    assert "| run's held-out `test_accuracy` | - | 0." in block(markdown, "digits")


def test_the_toolkits_default_output_is_diffed_by_path(retrained) -> None:
    """`plain` answers a bare list of scores: labels by argmax at `[*]`, numbers by index."""
    text = block(retrained[1], "plain")
    assert "test_accuracy on 30 evaluation answers, bar ≥ 0.9" in text
    assert "| `[0][" in text  # a numeric change addressed by list index
    assert "predictions" not in text


def test_a_handler_change_that_flips_some_answers(project, tmp_path) -> None:
    code, markdown = diff(project, "handlers", tmp_path)
    assert code == 0
    assert "#### `plain`" not in markdown  # its bundle did not change: not evaluated
    assert "Training runs not linked: no MLflow store here" in markdown  # no store: a note
    for model in ("iris", "digits"):
        text = block(markdown, model)
        changed = int(text.split("| answers changed | | ")[1].split(" of ")[0])
        assert 0 < changed < 10, model
        assert "| `predictions[0].label` |" in text  # the flipped answers, listed


def test_a_worse_model_fails_the_gate_until_labelled(project, tmp_path) -> None:
    outcome = tmp_path / "outcome.env"
    code, markdown = diff(
        project, "worse", tmp_path, "--fail-on-regression", "--outcome", str(outcome)
    )
    assert code == EXIT_REGRESSION
    assert "The PR check fails until the PR carries the `allow-regression` label." in markdown
    for model in ("iris", "digits"):
        base, head = metric(markdown, model)
        assert head < base - 0.3
        assert f"> - `{model}`: test_accuracy" in markdown and "misses the bar" in markdown
    outputs = dict(line.split("=") for line in outcome.read_text().splitlines())
    assert outputs == {"destructive": "false", "regression": "true"}
    assert gate(outputs=outputs, labels=set()) == [
        "Quality regressions need the allow-regression label"
    ]
    assert gate(outputs=outputs, labels={"allow-regression"}) == []


def broken_copy(project: dict[str, Path], tmp_path: Path, change: Callable[[Path], None]) -> Path:
    """The worse head's source tree with `change` applied to iris (the assembly stays)."""
    source = tmp_path / "source"
    shutil.copytree(project["worse"], source)
    change(source / "models" / "iris")
    return source


def test_a_label_path_missing_from_the_response_is_one_line(project, tmp_path, capsys) -> None:
    source = broken_copy(
        project,
        tmp_path,
        lambda iris: edit_config(
            iris, lambda d: d["evaluation"].update(label_path="predictions[*].name")
        ),
    )
    code, _ = diff(project, "worse", tmp_path, source=source)
    error = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert error[-1].startswith("diff: models/iris/config.yaml: evaluation.label_path: ")
    assert (
        "'predictions[*].name' is not in the head bundle's response to evaluation.jsonl line 1"
        in error[-1]
    )
    assert "no 'name' in predictions[0] (an object with keys label, probabilities)" in error[-1]
    assert "Traceback" not in "\n".join(error)


def test_a_request_the_handler_rejects_is_one_line(project, tmp_path, capsys) -> None:
    def bad_request(iris: Path) -> None:
        with (iris / "evaluation.jsonl").open("a") as sets:
            sets.write('{"request": {"instances": [[1, 2, 3]]}, "labels": ["setosa"]}\n')

    source = broken_copy(project, tmp_path, bad_request)
    code, _ = diff(project, "worse", tmp_path, source=source)
    error = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert error[-1].startswith("diff: models/iris/config.yaml: evaluation.file: ")
    assert "evaluation.jsonl line 31: the head bundle rejected the request: 400" in error[-1]
    assert "each instance must have shape [4]" in error[-1]
