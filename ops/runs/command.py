"""`python -m ops runs`: the training runs that MLflow records (`make train`, `make runs`).

    python -m ops runs table iris --tracking-uri sqlite:///$PWD/.cache/mlflow/mlflow.db
    python -m ops runs ui --tracking-uri sqlite:///$PWD/.cache/mlflow/mlflow.db --port 5000
    python -m ops runs code-sha256 iris

`table` prints the model's recent runs with their hyperparameters and held-out metric; `ui`
serves the MLflow UI on 127.0.0.1 until interrupted; `code-sha256` prints the sha256 of the
model's training code archive (what a pipeline's training job runs), which `make train` records
on each local run. The tracking URI defaults to `MLFLOW_TRACKING_URI`.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from bundler import BundleError, build
from bundler.cache import file_sha256
from bundler.training_code import training_code_spec
from configs.errors import ConfigError
from configs.loader import ModelSource, Project, load_project
from ops.runs import table, ui

DEFAULT_METRIC = "test_accuracy"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    store = os.environ.get("MLFLOW_TRACKING_URI")
    store_help = "the tracking store (default: $MLFLOW_TRACKING_URI)"
    listing = actions.add_parser("table", help="a model's recent runs: parameters and metric")
    listing.add_argument("model", help="model folder under models/, e.g. iris")
    listing.add_argument("--tracking-uri", default=store, help=store_help)
    listing.add_argument(
        "--experiment",
        help="MLflow experiment (default: the model; a pipeline's is <environment>-<model>)",
    )
    listing.add_argument("--limit", type=int, default=20, help="newest runs shown (default 20)")
    listing.add_argument("--root", type=Path, default=Path(), help="project root")
    serving = actions.add_parser("ui", help="the MLflow UI on 127.0.0.1 until interrupted")
    serving.add_argument("--tracking-uri", default=store, help=store_help)
    serving.add_argument("--port", type=int, default=5000, help="port on 127.0.0.1 (5000)")
    serving.add_argument("--log", type=Path, default=Path(".cache/mlflow/ui.log"))
    digest = actions.add_parser("code-sha256", help="sha256 of a model's training code archive")
    digest.add_argument("model", help="model folder under models/, e.g. iris")
    digest.add_argument("--root", type=Path, default=Path(), help="project root")
    digest.add_argument("--cache-dir", type=Path, help="bundle cache (default .cache/bundles)")


def run(args: argparse.Namespace) -> int:
    if args.action == "code-sha256":
        return _code_sha256(args)
    if not args.tracking_uri:
        print("runs: give --tracking-uri or set MLFLOW_TRACKING_URI", file=sys.stderr)
        return 2
    if args.action == "table":
        return _table(args)
    return _ui(args)


def _source(project: Project, model: str) -> ModelSource | None:
    return project.models.get(model) or next(
        (s for s in project.models.values() if s.folder.name == model), None
    )


def _load(root: Path, model: str) -> ModelSource:
    """The model's folder and config; LookupError names the models there are."""
    project = load_project(root)
    source = _source(project, model)
    if source is None:
        raise LookupError(f"unknown model {model!r}; one of {sorted(project.models)}")
    return source


def _table(args: argparse.Namespace) -> int:
    try:
        source = _load(args.root, args.model)
    except (ConfigError, LookupError) as error:
        print(f"runs: {error}", file=sys.stderr)
        return 2
    from mlflow import MlflowClient

    experiment = args.experiment or args.model
    rows = table.recent_runs(
        MlflowClient(tracking_uri=args.tracking_uri), experiment, limit=args.limit
    )
    if not rows:
        print(f"no runs of {experiment!r} in {args.tracking_uri} yet: "
              f"`make train MODEL={args.model}` records one")  # fmt: skip
        return 0
    quality = source.file.quality
    weights = source.file.artifact.weights[0]
    path = source.folder / weights
    print(f"{len(rows)} newest runs of experiment {experiment!r} in {args.tracking_uri}")
    print(
        table.runs_table(
            rows,
            metric=quality.metric if quality is not None else DEFAULT_METRIC,
            weights_sha256=file_sha256(path) if path.is_file() else None,
            weights_label=f"= models/{source.folder.name}/{weights}",
        )
    )
    return 0


def _ui(args: argparse.Namespace) -> int:
    try:
        server = ui.start(tracking_uri=args.tracking_uri, port=args.port, log=args.log)
    except ui.UiError as error:
        print(f"runs: {error}", file=sys.stderr)
        return 1
    print(f"MLflow UI: {server.url}  (runs in {args.tracking_uri}; Ctrl-C stops it)", flush=True)
    # Ctrl-C, `kill` or a closed terminal: the server is stopped either way (it runs in a
    # session of its own, so no signal reaches it but this one). SIGINT is set here too: a
    # command started in the background of a script inherits SIGINT ignored, and Python then
    # leaves it ignored, so Ctrl-C's signal would not stop it.
    for stop_signal in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop_signal, _interrupt)
    try:
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _code_sha256(args: argparse.Namespace) -> int:
    try:
        source = _load(args.root, args.model)
        artifact = source.file.artifact
        spec = training_code_spec(
            models_dir=source.folder.parent,
            folder=source.folder.name,
            code=artifact.code,
            shared=artifact.shared,
        )
        bundle = build(spec, args.cache_dir or args.root / ".cache" / "bundles")
    except (ConfigError, BundleError, LookupError) as error:
        print(f"runs: no training code sha256 for {args.model}: {error}", file=sys.stderr)
        return 1
    print(bundle.sha256)
    return 0
