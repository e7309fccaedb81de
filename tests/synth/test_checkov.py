"""checkov's CloudFormation checks over every synthesized template: zero unrecorded findings.

A finding that is deliberate is skipped on its one resource with the reason
(`stacks.checks.acknowledge.skip_checkov`), as cdk-nag findings are acknowledged. checkov runs
from its own environment (.venv-checkov, `make checkov-setup`; `make test` creates it), once
for the session, over the real templates and one deliberately careless copy, which shows that
the same run would have caught what the stacks fix.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Synthesized
from tests.templates import CHECKOV, checkov, only, resources

CARELESS = "careless-Staging-iris.template.json"

# One checkov run serves every test here: under `pytest -n --dist loadgroup`, one worker runs them.
pytestmark = pytest.mark.xdist_group("checkov")


@pytest.fixture(scope="session")
def findings(synth: Synthesized, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Each check checkov failed or skipped, over the real templates and the careless copy."""
    if not CHECKOV.exists():
        if os.environ.get("CI"):
            pytest.fail("no .venv-checkov in CI: `make test` must create it (`make checkov-setup`)")
        pytest.skip("no .venv-checkov: `make test` (or `make checkov-setup`) creates it")
    careless = json.loads(json.dumps(synth.templates["Staging-iris"]))
    _, access_logs = only(careless, "AWS::S3::Bucket", prefix="ArtifactsAccessLogs")
    del access_logs["Metadata"]["checkov"]
    _, log_group = only(careless, "AWS::Logs::LogGroup")
    del log_group["Properties"]["KmsKeyId"]
    copy = tmp_path_factory.mktemp("checkov") / CARELESS
    copy.write_text(json.dumps(careless))
    templates = sorted(synth.outdir.glob("*.template.json"))
    assert len(templates) == len(synth.templates)
    results = checkov([*templates, copy])
    return [
        {**check, "outcome": outcome}
        for result in results
        for outcome in ("failed", "skipped")
        for check in result[f"{outcome}_checks"]
    ]


def _named(findings: list[dict[str, Any]], outcome: str, *, careless: bool) -> list[str]:
    return sorted(
        f"{Path(f['file_path']).name}: {f['resource']} {f['check_id']} ({f['check_name']})"
        for f in findings
        if f["outcome"] == outcome and (Path(f["file_path"]).name == CARELESS) == careless
    )


def test_checkov_reports_no_unrecorded_findings(findings: list[dict[str, Any]]) -> None:
    assert _named(findings, "failed", careless=False) == []


def test_every_checkov_skip_is_on_one_resource_with_a_reason(
    synth: Synthesized, findings: list[dict[str, Any]]
) -> None:
    skipped = [f for f in findings if f["outcome"] == "skipped"]
    assert _named(findings, "skipped", careless=False), "the access-log bucket records one skip"
    for finding in skipped:
        assert len(finding["check_result"].get("suppress_comment", "")) > 30, finding["resource"]
    recorded = {
        (stack, logical_id, skip["id"])
        for stack, template in synth.templates.items()
        for logical_id, resource in template["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    }
    assert {(stack, logical_id) for stack, logical_id, _ in recorded} == {
        (stack, logical_id)
        for stack, template in synth.templates.items()
        for logical_id in resources(template, "AWS::S3::Bucket", prefix="ArtifactsAccessLogs")
    }


def test_checkov_would_catch_what_the_stacks_fix(
    synth: Synthesized, findings: list[dict[str, Any]]
) -> None:
    template = synth.templates["Staging-iris"]
    bucket, _ = only(template, "AWS::S3::Bucket", prefix="ArtifactsAccessLogs")
    group, _ = only(template, "AWS::Logs::LogGroup")
    assert {
        (f["resource"], f["check_id"])
        for f in findings
        if f["outcome"] == "failed" and Path(f["file_path"]).name == CARELESS
    } == {
        (f"AWS::S3::Bucket.{bucket}", "CKV_AWS_18"),
        (f"AWS::Logs::LogGroup.{group}", "CKV_AWS_158"),
    }
