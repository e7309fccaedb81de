"""The real CDK CLI (as `npx cdk`, from cdk.json) lists both stacks of every model folder."""

from __future__ import annotations

import subprocess

from tests.conftest import ROOT

MODEL_FILES = sorted((ROOT / "models").glob("*/config.yaml"))


def test_cdk_cli_lists_both_stacks_for_every_model() -> None:
    result = subprocess.run(
        ["npx", "--no-install", "cdk", "ls"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    listed = set(result.stdout.split())
    for path in MODEL_FILES:
        assert {f"Staging-{path.parent.name}", f"Prod-{path.parent.name}"} <= listed
