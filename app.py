#!/usr/bin/env python3
"""CDK entry point: every `models/*/config.yaml` x every `configs/*.yaml` becomes a stack.

No resources are defined here. A bad config or an unbundlable model folder ends synth with one
readable message and exit code 1, never a traceback.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import aws_cdk as cdk

from bundler import BundleError
from configs.errors import ConfigError
from configs.loader import Project, load_project
from stacks.app_stacks import add_stacks, parse_selection

ROOT = Path(__file__).resolve().parent


def main() -> int:
    app = cdk.App()
    root = Path(app.node.try_get_context("projectRoot") or ROOT)
    cache_dir = Path(app.node.try_get_context("bundleCacheDir") or ROOT / ".cache" / "bundles")
    try:
        project = load_project(root)
        project = with_target(
            project,
            account=app.node.try_get_context("targetAccount"),
            region=app.node.try_get_context("targetRegion"),
        )
        # `-c stacks='Staging-*'`: only these stacks are built, and only their models bundled.
        selection = parse_selection(app.node.try_get_context("stacks"))
        add_stacks(app, project, cache_dir=cache_dir, selection=selection)
    except (ConfigError, BundleError) as error:
        print(error, file=sys.stderr)
        return 1
    app.synth()
    return 0


def with_target(project: Project, *, account: str | None, region: str | None) -> Project:
    """Point every environment at one account/region (`-c targetAccount=... -c targetRegion=...`).

    For deploying somewhere other than configs/ names without editing it, such as the local
    emulator (`make deploy-local`); without the context keys the project is unchanged.
    """
    update = {key: value for key, value in (("account", account), ("region", region)) if value}
    if not update:
        return project
    environments = {
        name: env.model_copy(update=update) for name, env in project.environments.items()
    }
    return dataclasses.replace(project, environments=environments)


if __name__ == "__main__":
    sys.exit(main())
