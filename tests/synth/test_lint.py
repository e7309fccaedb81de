"""cfn-lint and cdk-nag over every synthesized template: zero findings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Synthesized, small_app
from tests.templates import acknowledgements, assert_cfn_lint_clean, cfn_lint, only


def test_cfn_lint_finds_nothing(synth: Synthesized) -> None:
    templates = sorted(str(p) for p in synth.outdir.glob("*.template.json"))
    assert len(templates) == len(synth.templates)
    assert_cfn_lint_clean(templates)


def test_cfn_lint_would_catch_a_broken_template(tmp_path: Path, synth: Synthesized) -> None:
    """The real EndpointConfig, broken, alone in a template: the rest of the stack would only
    cost cfn-lint time (about two CPU-seconds a template)."""
    config_id, config = only(synth.templates["Staging-iris"], "AWS::SageMaker::EndpointConfig")
    broken = json.loads(json.dumps(config))
    # Without the stack, references to its key and Model would be findings of their own.
    broken["Properties"].pop("KmsKeyId")
    (variant,) = broken["Properties"]["ProductionVariants"]
    variant.update(ModelName="staging-iris", InitialInstanceCount="two")
    path = tmp_path / "broken.template.json"
    path.write_text(json.dumps({"Resources": {config_id: broken}}))
    result = cfn_lint([path], parseable=False)
    assert result.returncode != 0
    assert "E3012 'two' is not of type 'integer'" in result.stdout


def test_cdk_nag_reports_no_unacknowledged_findings(synth: Synthesized) -> None:
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    violations = [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])]
    assert violations == []


def test_cdk_nag_runs_and_fails_synth_on_a_finding(tmp_path: Path) -> None:
    from aws_cdk import Stack
    from aws_cdk import aws_s3 as s3

    from stacks.checks.plugin import add_checks

    app = small_app(tmp_path)  # cdk-nag's own findings are asserted
    s3.Bucket(Stack(app, "Careless"), "Open")
    add_checks(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for p in report["pluginReports"] for v in p["violations"]}
    assert {"AwsSolutions-S1", "AwsSolutions-S10"} <= rules


def test_every_acknowledgement_is_scoped_and_has_a_reason(synth: Synthesized) -> None:
    acknowledged = acknowledgements(synth.outdir)
    assert acknowledged, "the execution roles acknowledge their two wildcards"
    for (construct, rule), reason in acknowledged.items():
        assert "[" in rule, f"{construct}: {rule} must name one finding, not a whole rule"
        assert len(reason) > 30, f"{construct}: {rule} needs a reason"
        roles = ("/ExecutionRole/", "/Training/Role/", "/DataQuality/Role/")
        assert any(role in construct for role in roles), (
            f"unexpected acknowledgement on {construct}"
        )
