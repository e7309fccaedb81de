"""Training: the loop learns, is repeatable, follows SageMaker's contract, and the committed
weights clear each model's quality bar on its held-out split (torchrun: test_training.py)."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch

from configs.loader import load_project
from tests.model_support import (
    MODELS,
    ROOT,
    example,
    fresh_imports,
    instances,
    load,
    rank_digests,
    run_training,
)

MODELKIT = ROOT / "models"


def small_batch(model: str, size: int) -> tuple[torch.Tensor, torch.Tensor, Any, ModuleType]:
    """`size` training examples of `model`, its freshly initialised network, its train module."""
    train = load(ROOT / "models" / model, "train")
    split = train.load_split(train.HERE / "data", test_fraction=0.2, seed=7)
    untrained = train.train(train.parser().parse_args(["--epochs", "0"]), split)
    return split.x_train[:size], split.y_train[:size], untrained, train


@pytest.mark.parametrize("model", MODELS)
def test_overfits_a_single_batch(model: str) -> None:
    x, y, net, train = small_batch(model, 32)
    history = train.fit(net, x, y, epochs=300, lr=0.01, batch_size=32, seed=0, log=lambda _: None)
    assert history[0] > 0.5
    assert history[-1] < 0.01, f"{model} cannot memorise 32 examples: loss {history[-1]:.4f}"


@pytest.mark.parametrize("model", MODELS)
def test_one_training_step_gives_a_finite_loss_and_moves_the_weights(model: str) -> None:
    x, y, net, train = small_batch(model, 16)
    state_digest = load(ROOT / "models", "modelkit.training").state_digest
    before = state_digest(net)
    history = train.fit(net, x, y, epochs=1, lr=0.01, batch_size=16, seed=0, log=lambda _: None)
    assert len(history) == 1
    assert math.isfinite(history[0])
    assert state_digest(net) != before


@pytest.fixture(scope="module")
def jobs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Any]]:
    """One 2-epoch job per model, seed 7, which two tests read (neither changes its files):
    each job is a process importing torch, a few CPU-seconds before it trains at all."""
    found = {}
    for model in MODELS:
        folder = tmp_path_factory.mktemp(f"job-{model}")
        found[model] = folder, run_training(model, folder, "--epochs", "2")
    return found


@pytest.mark.parametrize("model", MODELS)
def test_same_seed_gives_identical_weights(
    model: str, tmp_path: Path, jobs: dict[str, tuple[Path, Any]]
) -> None:
    folder, first = jobs[model]
    second = run_training(model, tmp_path / "b", "--epochs", "2")
    other = run_training(model, tmp_path / "c", "--epochs", "2", "--seed", "8")
    runs = (folder, tmp_path / "b", tmp_path / "c")
    weights = [(run / "model" / "model.pt").read_bytes() for run in runs]
    assert weights[0] == weights[1]
    assert rank_digests(first.stdout) == rank_digests(second.stdout)
    assert rank_digests(other.stdout) != rank_digests(first.stdout), "the seed changes nothing"


@pytest.mark.parametrize("model", MODELS)
def test_the_model_dir_is_a_deployable_bundle(
    model: str, jobs: dict[str, tuple[Path, Any]]
) -> None:
    """What a training job uploads as model.tar.gz is what SageMaker's PyTorch container reads."""
    tmp_path, result = jobs[model]
    model_dir = tmp_path / "model"
    assert (model_dir / "model.pt").is_file()
    for name in ("inference.py", "model.py", "requirements.txt", "modelkit/payloads.py"):
        assert (model_dir / "code" / name).is_file(), name
    assert not list(model_dir.rglob("__pycache__"))
    metrics = json.loads((tmp_path / "output" / "metrics.json").read_text())
    assert set(metrics) == {"train_accuracy", "test_accuracy"}
    # The MetricDefinitions regex a training job would use reads the same value.
    with fresh_imports(MODELKIT):
        from modelkit.metrics import metric_regex

        found = re.findall(metric_regex("test_accuracy"), result.stdout)
    assert [float(v) for v in found] == [pytest.approx(metrics["test_accuracy"], abs=1e-6)]
    handler = load(model_dir / "code", "inference")
    net = handler.model_fn(str(model_dir))
    data = handler.input_fn(example(model), "application/json")
    body, content_type = handler.output_fn(handler.predict_fn(data, net), "application/json")
    assert content_type == "application/json"
    assert len(json.loads(body)["predictions"]) == len(instances(model))


def test_hyperparameters_come_from_sm_hps_and_the_command_line_wins(tmp_path: Path) -> None:
    hps = json.dumps({"epochs": "1", "batch-size": 8, "seed": "3"})
    run_training("iris", tmp_path / "a", env={"SM_HPS": hps})
    run_training("iris", tmp_path / "b", "--epochs", "1", "--batch_size", "8", "--seed", "3")
    weights = [(tmp_path / run / "model" / "model.pt").read_bytes() for run in "ab"]
    assert weights[0] == weights[1]
    saved = torch.load(tmp_path / "a" / "model" / "model.pt", weights_only=True)
    assert saved["split"]["seed"] == 3


def test_an_unknown_hyperparameter_is_an_error(tmp_path: Path) -> None:
    script = str(ROOT / "models" / "iris" / "train.py")
    result = subprocess.run(
        [sys.executable, script],
        env={**os.environ, "SM_HPS": json.dumps({"epoch": 3}), "SM_MODEL_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "unknown hyperparameters in SM_HPS: ['epoch']" in result.stderr


@pytest.mark.parametrize("model", MODELS)
def test_committed_weights_clear_the_quality_bar(model: str) -> None:
    """The quality gate: the held-out score of the shipped weights against config.yaml's bar."""
    quality = load_project(ROOT).models[model].file.quality
    assert quality is not None, f"models/{model}/config.yaml has no quality section"
    assert quality.metric == "test_accuracy"
    train = load(ROOT / "models" / model, "train")
    score = train.held_out_accuracy(ROOT / "models" / model / "model.pt", train.HERE / "data")
    assert quality.passes(score), f"{model}: {quality.metric} {score:.4f} < {quality.threshold}"


def test_the_quality_bar_can_fail() -> None:
    from configs.training import Quality

    assert Quality(metric="test_accuracy", threshold=0.9).passes(0.9)
    assert not Quality(metric="test_accuracy", threshold=0.9).passes(0.89)
    assert Quality(metric="test_loss", threshold=0.2, greater_is_better=False).passes(0.1)
    assert not Quality(metric="test_loss", threshold=0.2, greater_is_better=False).passes(0.3)


def test_untrained_weights_would_fail_the_quality_bar(tmp_path: Path) -> None:
    """The gate measures something: a model trained for zero epochs does not pass it."""
    run_training("digits", tmp_path, "--epochs", "0")
    quality = load_project(ROOT).models["digits"].file.quality
    assert quality is not None
    train = load(ROOT / "models" / "digits", "train")
    score = train.held_out_accuracy(tmp_path / "model" / "model.pt", train.HERE / "data")
    assert not quality.passes(score)
