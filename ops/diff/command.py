"""Render what a change does to every stack, as Markdown: `python -m ops diff --base A --head B`.

Both sides are synthesized cloud assemblies (no credentials: the base assembly stands for what
is deployed). Templates are diffed by the CDK's own engine (`@aws-cdk/cloudformation-diff`,
through `ops/diff/cfn_diff.js`); the templates are read by CloudFormation resource type to say
per model what a reviewer needs: new bundle sha256, rollout plan, instances and scaling,
alarms, IAM, and anything destructive, within GitHub's comment size limit. With `--project`
(the head's source tree), each model whose bundle changed is also evaluated: both bundles
answer the model's evaluation set, and the comment says how the answers and the quality metric
change (`ops/diff/models.py`), and which MLflow run trained each side's weights
(`ops/diff/training_runs.py`: found by the weights' sha256 in `--tracking-uri`, else in the
project's local store; a missing or unreachable store is a note, never a failure).

Exit codes: 0 rendered; 1 an assembly could not be read or diffed, or a model's evaluation
section does not fit its model (the message names the file and field); 3 destructive changes
found and `--fail-on-destructive` given; 4 a model misses its quality bar or regressed and
`--fail-on-regression` given; 5 both 3 and 4. The Markdown is written first, then the
`--outcome` file (what the workflow's gate reads: `make` reports every failing status as 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from configs.errors import ConfigError
from ops.diff.changes import compare
from ops.diff.engine import DiffError
from ops.diff.markdown import DEFAULT_LIMIT, render
from ops.diff.models import ModelReport, model_changes
from ops.diff.scope import Scope
from ops.diff.training_runs import link_runs
from ops.evaluation.compare import EvaluationError
from ops.serving import ServeError

EXIT_DESTRUCTIVE = 3
EXIT_REGRESSION = 4
EXIT_BOTH = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", type=Path, required=True, help="cloud assembly of the base")
    parser.add_argument("--head", type=Path, required=True, help="cloud assembly of the change")
    parser.add_argument("--base-label", default="base", help="what to call the base in the title")
    parser.add_argument("--head-label", default="head", help="what to call the head in the title")
    parser.add_argument("--output", type=Path, help="write the Markdown here instead of stdout")
    parser.add_argument(
        "--limit", type=int, default=DEFAULT_LIMIT, help="maximum characters of Markdown"
    )
    parser.add_argument(
        "--fail-on-destructive",
        action="store_true",
        help=f"exit {EXIT_DESTRUCTIVE} if a bucket or endpoint is replaced or deleted, "
        "or a stack destroyed",
    )
    parser.add_argument(
        "--project",
        type=Path,
        help="the head's source tree (configs/, models/): adds the model section, each changed "
        "bundle evaluated on its model's evaluation set",
    )
    parser.add_argument(
        "--base-project",
        type=Path,
        help="the base's source tree, for the training hyperparameters that changed",
    )
    parser.add_argument(
        "--tracking-uri",
        help="MLflow tracking store holding the training runs behind base and head weights "
        "(default: the project's .cache/mlflow/mlflow.db if present; nothing over the network)",
    )
    parser.add_argument(
        "--evaluation-cache",
        type=Path,
        help="a folder keeping evaluations by the sha256 of their bundles, requests and "
        "serving code: a pair of bundles evaluated before is not evaluated again",
    )
    parser.add_argument(
        "--outcome",
        type=Path,
        help="write `destructive=true|false` and `regression=true|false` lines here (for "
        "$GITHUB_OUTPUT), after the Markdown: make turns any failing exit code into 2",
    )
    parser.add_argument(
        "--scope",
        type=Path,
        help="the scope `python -m ops diff-synth` wrote: the comment says which stacks were "
        "compared when not all of them were synthesized",
    )
    parser.add_argument(
        "--fail-on-regression",
        action="store_true",
        help=f"exit {EXIT_REGRESSION} if a model's metric misses its quality bar or falls "
        "behind the base's by more than quality.max_regression",
    )


def _models(args: argparse.Namespace) -> ModelReport | None:
    """The model section, or None without --project."""
    if args.project is None:
        return None
    report = model_changes(
        base=args.base,
        head=args.head,
        project=args.project,
        base_project=args.base_project,
        cache=args.evaluation_cache,
    )
    evaluated = sum(1 for model in report.models if model.comparison is not None)
    print(f"diff: {evaluated} model(s) evaluated in {report.seconds:.1f} s", file=sys.stderr)
    return link_runs(report, tracking_uri=args.tracking_uri, project=args.project)


def _scope(path: Path | None) -> Scope | None:
    """The synthesized scope, or None (every stack) without --scope."""
    if path is None:
        return None
    try:
        return Scope.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError) as error:
        raise FileNotFoundError(
            f"{path}: not a scope written by `ops diff-synth` ({error})"
        ) from error


def _status(args: argparse.Namespace, *, destructive: bool, regression: bool) -> int:
    failing_destructive = destructive and args.fail_on_destructive
    failing_regression = regression and args.fail_on_regression
    if failing_destructive and failing_regression:
        return EXIT_BOTH
    if failing_destructive:
        return EXIT_DESTRUCTIVE
    return EXIT_REGRESSION if failing_regression else 0


def run(args: argparse.Namespace) -> int:
    try:
        report = compare(
            args.base, args.head, base_label=args.base_label, head_label=args.head_label
        )
        scope = _scope(args.scope)
        models = _models(args)
    except (DiffError, FileNotFoundError, ConfigError, ServeError) as error:
        print(f"diff: {error}", file=sys.stderr)
        return 1
    except EvaluationError as error:
        print(f"diff: {error}", file=sys.stderr)
        if error.detail:
            print(error.detail, file=sys.stderr)
        return 1
    markdown = render(report, limit=args.limit, models=models, scope=scope)
    if args.output:
        args.output.write_text(markdown)
    else:
        print(markdown)
    if report.destructive:
        print(f"diff: {len(report.destructive)} destructive change(s)", file=sys.stderr)
    regressions = models.regressions if models else ()
    for item in regressions:
        print(f"diff: quality regression: {item.replace('`', '')}", file=sys.stderr)
    if args.outcome:
        flags = {"destructive": bool(report.destructive), "regression": bool(regressions)}
        args.outcome.write_text("".join(f"{k}={str(v).lower()}\n" for k, v in flags.items()))
    return _status(args, destructive=bool(report.destructive), regression=bool(regressions))
