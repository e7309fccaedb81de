"""The real CDK CLI (as `npx cdk`, from cdk.json): it lists both stacks of every model folder
and sends no telemetry."""

from __future__ import annotations

import os
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


def test_the_cli_reports_no_telemetry() -> None:
    """Every `cdk` command would otherwise start a sender process that tries to reach AWS (24
    in one run of the integration tier); cdk.json turns it off for everyone who runs the CLI
    here, as the Makefile turns off the sagemaker SDK's."""
    env = {k: v for k, v in os.environ.items() if k != "CDK_DISABLE_CLI_TELEMETRY"}
    result = subprocess.run(
        ["npx", "--no-install", "cdk", "cli-telemetry", "--status"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "CLI Telemetry is disabled" in result.stdout + result.stderr
