"""Find, and with `--execute` delete, deployed stacks whose model folder is gone.

`python -m ops retire --assembly cdk.out --stacks 'Prod-*'` prints the names of deployed stacks
that match the pattern, carry the `model` tag every model stack has, and are not in the
assembly. `--execute` turns termination protection off and deletes them, waiting for each;
buckets and log groups are retained (DeletionPolicy Retain). The deploy workflow runs this only
after the `retire` environment's reviewers approve.
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from stacks.templates import read_assembly

MODEL_TAG = "model"  # stacks.model_stack tags every stack with its model's name
GONE = {"DELETE_COMPLETE"}


def orphans(cfn: Any, *, patterns: Sequence[str], keep: Iterable[str]) -> list[str]:
    """Deployed stacks matching `patterns`, tagged as model stacks, that are not in `keep`."""
    wanted = set(keep)
    found = []
    for page in cfn.get_paginator("describe_stacks").paginate():
        for stack in page["Stacks"]:
            name = stack["StackName"]
            if stack.get("StackStatus") in GONE or name in wanted:
                continue
            if not any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
                continue
            if any(tag.get("Key") == MODEL_TAG for tag in stack.get("Tags", [])):
                found.append(name)
    return sorted(found)


def destroy(cfn: Any, name: str) -> None:
    """Delete one stack; Prod stacks carry termination protection, which is lifted first."""
    (stack,) = cfn.describe_stacks(StackName=name)["Stacks"]
    if stack.get("EnableTerminationProtection"):
        cfn.update_termination_protection(EnableTerminationProtection=False, StackName=name)
    # CDK-deployed stacks carry the bootstrap's execution role; deleting through it needs only
    # iam:PassRole, not the rights to delete every resource.
    role = stack.get("RoleARN")
    cfn.delete_stack(StackName=name, **({"RoleARN": role} if role else {}))
    cfn.get_waiter("stack_delete_complete").wait(StackName=name)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--assembly", type=Path, default=Path("cdk.out"), help="cloud assembly")
    parser.add_argument("--stacks", action="append", required=True, help="e.g. 'Prod-*'")
    parser.add_argument("--execute", action="store_true", help="delete them (default: list)")


def run(args: argparse.Namespace) -> int:
    try:
        stacks = read_assembly(args.assembly)
    except FileNotFoundError as error:
        print(f"retire: {error}", file=sys.stderr)
        return 1
    matching = [s for s in stacks if any(fnmatch.fnmatchcase(s.name, p) for p in args.stacks)]
    regions = {s.region for s in matching} or {None}
    names = []
    try:
        for region in sorted(regions, key=str):
            cfn = boto3.client("cloudformation", region_name=region)
            found = orphans(cfn, patterns=args.stacks, keep=(s.name for s in stacks))
            for name in found:
                if args.execute:
                    print(f"retire: deleting {name} (buckets retained)", file=sys.stderr)
                    destroy(cfn, name)
            names += found
    except ClientError as error:
        print(f"retire: {error}", file=sys.stderr)
        return 1
    print(" ".join(names))
    return 0
