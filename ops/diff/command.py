"""Render what a change does to every stack, as Markdown: `python -m ops diff --base A --head B`.

Both sides are synthesized cloud assemblies (no credentials: the base assembly stands for what
is deployed). Templates are diffed by the CDK's own engine (`@aws-cdk/cloudformation-diff`,
through `ops/diff/cfn_diff.js`); the templates are read by CloudFormation resource type to say
per model what a reviewer needs: new bundle sha256, rollout plan, instances and scaling,
alarms, IAM, and anything destructive, within GitHub's comment size limit.

Exit codes: 0 rendered; 1 an assembly could not be read or diffed; 3 destructive changes found
and `--fail-on-destructive` given (the Markdown is written first).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ops.diff.changes import compare
from ops.diff.engine import DiffError
from ops.diff.markdown import DEFAULT_LIMIT, render

EXIT_DESTRUCTIVE = 3


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


def run(args: argparse.Namespace) -> int:
    try:
        report = compare(
            args.base, args.head, base_label=args.base_label, head_label=args.head_label
        )
    except (DiffError, FileNotFoundError) as error:
        print(f"diff: {error}", file=sys.stderr)
        return 1
    markdown = render(report, limit=args.limit)
    if args.output:
        args.output.write_text(markdown)
    else:
        print(markdown)
    if report.destructive:
        print(f"diff: {len(report.destructive)} destructive change(s)", file=sys.stderr)
        if args.fail_on_destructive:
            return EXIT_DESTRUCTIVE
    return 0
