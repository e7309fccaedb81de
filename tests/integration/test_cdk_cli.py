"""The real CDK CLI (as `npx cdk`, from cdk.json): it lists both stacks of every model folder,
the CDK's own CloudFormation validation finds nothing in them, and it sends no telemetry."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.conftest import ROOT

MODEL_FILES = sorted((ROOT / "models").glob("*/config.yaml"))


def test_cdk_cli_lists_both_stacks_for_every_model_and_validates_them(tmp_path: Path) -> None:
    """`cdk ls` synthesizes every stack as `cdk synth` does, with the CDK's built-in
    CloudFormation validation on (CDK_VALIDATION unset): its findings, warnings that would
    scroll past in a deploy, go to validation-report.json beside the project's checks. The
    in-process synths of the other tiers leave that validation off (tests/conftest.py)."""
    env = {key: value for key, value in os.environ.items() if key != "CDK_VALIDATION"}
    result = subprocess.run(
        ["npx", "--no-install", "cdk", "ls", "--output", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    listed = set(result.stdout.split())
    for path in MODEL_FILES:
        assert {f"Staging-{path.parent.name}", f"Prod-{path.parent.name}"} <= listed
    report = json.loads((tmp_path / "validation-report.json").read_text())
    findings = [
        f"{plugin['pluginName']}: {violation['ruleName']} {violation['description']}"
        for plugin in report["pluginReports"]
        for violation in plugin.get("violations", [])
    ]
    assert findings == []


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
