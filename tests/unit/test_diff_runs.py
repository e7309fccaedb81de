"""The PR diff's model section names the MLflow run behind the base and the head weights.

Bundles are built by the bundler itself (SageMaker's layout: weights at the top, code under
`code/`); runs are recorded in a temporary local MLflow store with the tags a training job
writes (`modelkit.run_record`). No store, or a store that does not answer, is a note.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from bundler import BundleSpec, build
from bundler.cache import file_sha256
from ops.diff.model_markdown import model_section
from ops.diff.models import Bundle, ModelChange, ModelReport
from ops.diff.training_runs import NO_RUN, link_runs, weights_digests
from ops.runs.weights import run_url, shown_uri
from tests.unit.conftest import mlflow_store_at

MODEL = "iris"


def bundle(root: Path, name: str, weights: bytes) -> Bundle:
    """A model.tar.gz of a model folder whose weights file holds `weights`."""
    folder = root / name / MODEL
    folder.mkdir(parents=True)
    (folder / "model.pt").write_bytes(weights)
    (folder / "inference.py").write_text("def model_fn(d):\n    return d\n")
    built = build(BundleSpec(model_dir=folder, weights=("model.pt",)), root / "bundles")
    return Bundle(built.sha256, built.size, "inference.py", built.path)


def record(uri: str, *, experiment: str, digest: str, lr: str, accuracy: float) -> str:
    """A run as `make train` leaves it: hyperparameters, held-out metric, weights digest."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found else client.create_experiment(experiment)
    run_id = str(client.create_run(experiment_id, run_name=f"run-lr-{lr}").info.run_id)
    for name, value in {"lr": lr, "epochs": "60", "seed": "7"}.items():
        client.log_param(run_id, name, value)
    client.log_metric(run_id, "test_accuracy", accuracy)
    client.set_tag(run_id, "model", MODEL)
    client.set_tag(run_id, "weights.file_sha256", digest)
    client.set_terminated(run_id, "FINISHED")
    return run_id


@pytest.fixture
def sides(tmp_path: Path) -> tuple[Bundle, Bundle]:
    return bundle(tmp_path, "base", os.urandom(4096)), bundle(tmp_path, "head", os.urandom(4096))


def report_of(base: Bundle | None, head: Bundle) -> ModelReport:
    return ModelReport((ModelChange(MODEL, base, head, metric="test_accuracy"),))


def rendered(report: ModelReport) -> str:
    return "\n".join(model_section(report))


def row(markdown: str, label: str) -> list[str]:
    line = next(line for line in markdown.splitlines() if line.startswith(f"| {label} |"))
    return [cell.strip() for cell in line.split("|")[2:4]]


def test_the_digest_of_a_bundle_is_its_weights_files(
    sides: tuple[Bundle, Bundle], tmp_path: Path
) -> None:
    base, _ = sides
    assert base.archive is not None
    weights = tmp_path / "base" / MODEL / "model.pt"
    assert weights_digests(base.archive) == (file_sha256(weights),)  # code/ is not weights


def test_an_unpacked_bundle_folder_gives_the_same_digests(tmp_path: Path) -> None:
    folder = tmp_path / "asset"
    (folder / "code").mkdir(parents=True)
    (folder / "model.pt").write_bytes(b"weights")
    (folder / "code" / "inference.py").write_text("")
    assert weights_digests(folder) == (file_sha256(folder / "model.pt"),)


def test_the_section_names_the_runs_behind_base_and_head(
    sides: tuple[Bundle, Bundle], tmp_path: Path, empty_mlflow_store: Path
) -> None:
    base, head = sides
    assert base.archive is not None and head.archive is not None
    uri = mlflow_store_at(tmp_path / "store" / "mlflow.db", empty_mlflow_store)
    base_run = record(
        uri, experiment=MODEL, digest=weights_digests(base.archive)[0], lr="0.01", accuracy=0.9
    )
    head_run = record(
        uri,
        experiment="staging-iris",
        digest=weights_digests(head.archive)[0],
        lr="0.02",
        accuracy=0.966667,
    )
    record(uri, experiment=MODEL, digest="0" * 64, lr="0.5", accuracy=0.1)  # other weights

    markdown = rendered(link_runs(report_of(base, head), tracking_uri=uri, project=tmp_path))

    assert f"Training runs found by weights sha256 in {uri}." in markdown
    before, after = row(markdown, "training run (MLflow)")
    assert before == f"`run-lr-0.01`: run `{base_run}` in experiment `iris`"
    assert after == f"`run-lr-0.02`: run `{head_run}` in experiment `staging-iris`"
    assert row(markdown, "run's held-out `test_accuracy`") == ["0.9", "0.9667"]
    assert row(markdown, "run parameters") == [
        "epochs=60 **lr=0.01** seed=7",
        "epochs=60 **lr=0.02** seed=7",
    ]


def test_the_local_store_is_found_in_the_project_and_runs_can_be_missing(
    sides: tuple[Bundle, Bundle], tmp_path: Path, empty_mlflow_store: Path
) -> None:
    """`make train`'s store under .cache/mlflow is read without being named; weights that no
    run recorded say so, and weights several runs made name the newest and count the rest."""
    base, head = sides
    assert head.archive is not None
    uri = mlflow_store_at(tmp_path / ".cache" / "mlflow" / "mlflow.db", empty_mlflow_store)
    digest = weights_digests(head.archive)[0]
    record(uri, experiment=MODEL, digest=digest, lr="0.01", accuracy=0.9)
    newest = record(uri, experiment=MODEL, digest=digest, lr="0.01", accuracy=0.9)

    markdown = rendered(link_runs(report_of(base, head), tracking_uri=None, project=tmp_path))

    before, after = row(markdown, "training run (MLflow)")
    assert before == NO_RUN
    assert after == (
        f"`run-lr-0.01`: run `{newest}` in experiment `iris` (1 more run(s) with these weights)"
    )
    assert row(markdown, "run parameters")[0] == "-"
    assert row(markdown, "run parameters")[1] == "epochs=60 lr=0.01 seed=7"  # nothing to compare


def test_without_a_store_the_section_says_so_and_creates_none(
    sides: tuple[Bundle, Bundle], tmp_path: Path
) -> None:
    base, head = sides
    project = tmp_path / "project"
    project.mkdir()
    markdown = rendered(link_runs(report_of(base, head), tracking_uri=None, project=project))
    assert "Training runs not linked: no MLflow store here (`make train` records runs in " in (
        markdown
    )
    assert "training run (MLflow)" not in markdown
    assert "#### `iris`: new model version" in markdown  # the rest of the section stands

    missing = tmp_path / "nowhere" / "mlflow.db"
    linked = link_runs(report_of(base, head), tracking_uri=f"sqlite:///{missing}", project=project)
    assert linked.runs_note == f"Training runs not linked: no MLflow store at {missing}."
    assert not missing.parent.exists()


def test_an_unreachable_tracking_server_is_a_note_not_a_failure(
    sides: tuple[Bundle, Bundle], tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        uri = f"http://127.0.0.1:{probe.getsockname()[1]}"
    linked = link_runs(report_of(*sides), tracking_uri=uri, project=tmp_path)
    assert linked.runs_note.startswith(
        f"Training runs not linked: the MLflow store at {uri} could not be read ("
    )
    assert linked.models[0].head_run is None
    assert "Training runs not linked" in rendered(linked)


def test_a_bundle_not_built_at_synth_has_no_digest(
    tmp_path: Path, empty_mlflow_store: Path
) -> None:
    head = Bundle("f" * 64, 10, "inference.py", None)
    mlflow_store_at(tmp_path / ".cache" / "mlflow" / "mlflow.db", empty_mlflow_store)
    linked = link_runs(report_of(None, head), tracking_uri=None, project=tmp_path)
    base, after = row(rendered(linked), "training run (MLflow)")
    assert base == "-"  # a new model has no base
    assert after == "weights not in the assembly (bundle not built at synth)"


def test_a_web_tracking_server_links_the_run_page_without_credentials() -> None:
    uri = "https://user:secret@mlflow.example.com/"
    assert shown_uri(uri) == "https://mlflow.example.com/"
    assert run_url(uri, experiment_id="4", run_id="abc") == (
        "https://mlflow.example.com/#/experiments/4/runs/abc"
    )
    assert run_url("sqlite:///tmp/mlflow.db", experiment_id="4", run_id="abc") is None
    assert shown_uri("sqlite:///tmp/mlflow.db") == "sqlite:///tmp/mlflow.db"


def test_a_linked_run_on_a_web_server_is_a_link() -> None:
    from ops.diff import model_markdown
    from ops.runs.weights import TrainedBy

    found = TrainedBy(
        run_id="abc",
        run_name="execution-7",
        experiment_id="4",
        experiment="staging-iris",
        status="RUNNING",
        url="https://mlflow.example.com/#/experiments/4/runs/abc",
    )
    cell = model_markdown._run_cell(found)
    assert cell == (
        "[`execution-7`](https://mlflow.example.com/#/experiments/4/runs/abc): run `abc` in "
        "experiment `staging-iris` (running)"
    )
