"""List approved model package versions and print (or write) the config line that promotes one.

`python -m ops promote iris --environment staging` lists the approved versions in the model's
package group (`staging-iris`), newest first, and prints the change to models/iris/config.yaml
that makes every environment serve the newest one:

    artifact:
      source: registry
      model_package_arn: arn:aws:sagemaker:eu-west-1:111111111111:model-package/staging-iris/3

`--version 2` picks another approved version; `--write` edits config.yaml in place (only those
two lines; comments and everything else are kept), ready for a pull request. The region comes
from configs/<environment>.yaml; credentials from the usual AWS chain.

Every environment serves the pinned version, so one in another account than `--environment`'s
must be let in by the model package group's resource policy (which the owning stack creates,
`stacks.constructs.model_registry`): the command reads the policy and refuses, naming each such
environment and account, before anything is written (`ops.registry_access`).

It also shows the training run behind the version it pins, when the pipeline recorded one
(`tracking.mlflow.enabled`): the MLflow run's id, the tracking server and how to open it, and
the run's params and metrics read from the server (or from `--tracking-uri`).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from configs.loader import MODEL_CONFIG, load_project
from ops.registry_access import group_policy, refusals
from ops.runs.lookup import run_behind

APPROVED = "Approved"


@dataclass(frozen=True)
class Package:
    arn: str
    version: int
    created: str
    metadata: dict[str, str]


def approved_packages(sagemaker: Any, group: str) -> list[Package]:
    """Approved versions in `group`, newest version first."""
    found = []
    for page in sagemaker.get_paginator("list_model_packages").paginate(
        ModelPackageGroupName=group, ModelApprovalStatus=APPROVED
    ):
        for summary in page["ModelPackageSummaryList"]:
            if summary.get("ModelApprovalStatus") != APPROVED:
                continue
            arn = summary["ModelPackageArn"]
            described = sagemaker.describe_model_package(ModelPackageName=arn)
            found.append(
                Package(
                    arn=arn,
                    version=int(summary.get("ModelPackageVersion") or arn.rsplit("/", 1)[1]),
                    created=str(summary.get("CreationTime", "")),
                    metadata=dict(described.get("CustomerMetadataProperties") or {}),
                )
            )
    return sorted(found, key=lambda p: p.version, reverse=True)


def choose(packages: list[Package], version: int | None) -> Package:
    if not packages:
        raise LookupError("no approved versions: approve one in the model registry first")
    if version is None:
        return packages[0]
    for package in packages:
        if package.version == version:
            return package
    approved = ", ".join(str(p.version) for p in packages)
    raise LookupError(f"version {version} is not approved (approved: {approved})")


_ARTIFACT = re.compile(r"^artifact:[ \t]*(#.*)?$", re.MULTILINE)


def pin(text: str, arn: str) -> str:
    """config.yaml's text with `artifact.source: registry` and `model_package_arn: <arn>`.

    Existing `source:` / `model_package_arn:` lines under `artifact:` are replaced in place,
    missing ones are added right under `artifact:`; nothing else changes.
    """
    match = _ARTIFACT.search(text)
    if match is None:
        raise ValueError("config.yaml has no top-level 'artifact:' section")
    head, body_start = text[: match.end()], match.end()
    rest = text[body_start:]
    # The artifact block runs until the next line that is not indented (or the end).
    end = re.search(r"^\S", rest[1:], re.MULTILINE)
    block, tail = (rest[: end.start() + 1], rest[end.start() + 1 :]) if end else (rest, "")
    lines = block.split("\n")
    indents = [m.group(1) for m in (re.match(r"^([ \t]+)\S", ln) for ln in lines) if m]
    indent = indents[0] if indents else "  "
    wanted = {"source": "registry", "model_package_arn": arn}
    added = 0
    for key, value in wanted.items():
        pattern = re.compile(rf"^{indent}{key}:[^\n#]*(#.*)?$")
        for index, line in enumerate(lines):
            found = pattern.match(line)
            if found:
                comment = f"  {found.group(1)}" if found.group(1) else ""
                lines[index] = f"{indent}{key}: {value}{comment}"
                break
        else:
            added += 1
            lines.insert(added, f"{indent}{key}: {value}")
    return head + "\n".join(lines) + tail


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="model folder under models/, e.g. iris")
    parser.add_argument(
        "--environment", default="staging", help="where it was trained (default: staging)"
    )
    parser.add_argument("--version", type=int, help="an approved version (default: newest)")
    parser.add_argument("--write", action="store_true", help="edit models/<model>/config.yaml")
    parser.add_argument(
        "--tracking-uri",
        help="read the version's MLflow run here (default: the tracking server it names)",
    )
    parser.add_argument("--root", type=Path, default=Path(), help="project root")


def run(args: argparse.Namespace, sagemaker: Any = None) -> int:
    project = load_project(args.root)
    if args.environment not in project.environments:
        print(f"unknown environment {args.environment!r}", file=sys.stderr)
        return 2
    source = project.models.get(args.model) or next(
        (s for s in project.models.values() if s.folder.name == args.model), None
    )
    if source is None:
        print(f"unknown model {args.model!r}; one of {sorted(project.models)}", file=sys.stderr)
        return 2
    environment = project.environments[args.environment]
    group = f"{args.environment}-{source.name}"
    client = sagemaker or boto3.client("sagemaker", region_name=environment.region)
    packages = approved_packages(client, group)
    for package in packages:
        data = ", ".join(f"{k}={v}" for k, v in sorted(package.metadata.items()))
        print(f"  {package.version:>4}  {package.arn}  {data}")
    try:
        chosen = choose(packages, args.version)
    except LookupError as error:
        print(f"{group}: {error}", file=sys.stderr)
        return 1
    consumers = {
        name: env.account
        for name, env in project.environments.items()
        if env.account != environment.account
    }
    if consumers:
        refused = refusals(
            policy=group_policy(client, group),
            package_arn=chosen.arn,
            group=group,
            consumers=consumers,
        )
        for line in refused:
            print(f"promote: {line}", file=sys.stderr)
        if refused:
            print(
                f"promote: deploy {environment.prefix}-{source.name} (account "
                f"{environment.account}): its stack gives every other environment's account "
                "read access to the group and to the model artifacts, then promote again",
                file=sys.stderr,
            )
            return 1
        listed = ", ".join(f"{n} (account {a})" for n, a in sorted(consumers.items()))
        print(f"\nother accounts let in by {group}'s resource policy: {listed}")
    print(f"\nrun behind version {chosen.version}:")
    for line in run_behind(
        chosen.metadata,
        tracking_uri=getattr(args, "tracking_uri", None),
        region=environment.region,
    ):
        print(f"  {line}")
    config = source.folder / MODEL_CONFIG
    if args.write:
        config.write_text(pin(config.read_text(), chosen.arn))
        print(f"wrote {config}: artifact.model_package_arn = {chosen.arn}")
    else:
        print(f"\n# {config}\nartifact:\n  source: registry\n  model_package_arn: {chosen.arn}")
    return 0
