"""The PR diff renderer on real synthesized assemblies: base vs head, each kind of change."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ops.__main__ import main
from ops.diff.changes import Report, compare
from ops.diff.command import EXIT_DESTRUCTIVE
from ops.diff.markdown import MARKER, render
from tests.conftest import copy_project, synthesize
from tests.templates import only_properties, policy_statements, resources

STAGING = "Staging-iris"
# The stacks the change between base and head touches (a model retrained, one deleted), and
# one it leaves as it was: each further stack costs two synths and an engine comparison.
SYNTHESIZED = ("*-iris", "*-retiring", "Staging-digits")


@pytest.fixture(scope="module")
def assemblies(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Base: the project plus a model `retiring`. Head: new iris weights and training code,
    `retiring` deleted."""
    work = tmp_path_factory.mktemp("diff")
    cache = work / "bundles"
    base_root = copy_project(work / "base")
    shutil.copytree(base_root / "models" / "iris", base_root / "models" / "retiring")
    base = synthesize(base_root, work / "base.out", cache, stacks=SYNTHESIZED).outdir
    head_root = work / "head"
    shutil.copytree(base_root, head_root)
    shutil.rmtree(head_root / "models" / "retiring")
    with (head_root / "models" / "iris" / "model.pt").open("ab") as weights:
        weights.write(b"\0retrained")  # new bytes are a new bundle; synth does not load them
    with (head_root / "models" / "iris" / "train.py").open("a") as train:
        train.write("# trained again\n")  # and a new training-code archive
    head = synthesize(head_root, work / "head.out", cache, stacks=SYNTHESIZED).outdir
    return base, head


@pytest.fixture(scope="module")
def report(assemblies: tuple[Path, Path]) -> Report:
    """Base vs head, compared once (one node process for the engine) for the tests that only
    render it: rendering reads the report and never changes it."""
    base, head = assemblies
    return compare(base, head)


def edited(head: Path, tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of the head assembly with `edit` applied to Staging-iris's template."""
    out = tmp_path / "edited.out"
    shutil.copytree(head, out, ignore=shutil.ignore_patterns("asset.*"))
    path = out / f"{STAGING}.template.json"
    template = json.loads(path.read_text())
    edit(template)
    path.write_text(json.dumps(template))
    return out


def row(markdown: str, stack: str) -> str:
    (line,) = [line for line in markdown.splitlines() if line.startswith(f"| `{stack}`")]
    return line


def test_weights_change_is_a_new_model_version(assemblies, report: Report) -> None:
    base, head = assemblies
    markdown = render(report)
    old = json.loads((base / f"{STAGING}.template.json").read_text())["Metadata"]["ModelBundle"]
    new = json.loads((head / f"{STAGING}.template.json").read_text())["Metadata"]["ModelBundle"]
    assert old["sha256"] != new["sha256"]
    line = row(markdown, STAGING)
    assert "new model version" in line
    assert f"`{old['sha256'][:12]}` → `{new['sha256'][:12]}`" in line
    # The execution role's read grants follow the bundle and the training-code archive to their
    # new keys: not an IAM change.
    assert "IAM" not in line
    assert "### Model `iris`" in markdown
    assert "<details><summary><code>Staging-iris</code>" in markdown
    assert "AWS::SageMaker::EndpointConfig" in markdown  # the engine's own detail
    assert "Unchanged: `Staging-digits`." in markdown


def test_deleted_model_folder_destroys_stack_and_retains_bucket(
    assemblies, report: Report, capsys
) -> None:
    base, head = assemblies
    markdown = render(report)
    assert "> [!CAUTION]" in markdown
    for stack in ("Staging-retiring", "Prod-retiring"):
        assert f"`{stack}`: stack will be destroyed, buckets retained" in markdown
        assert "stack destroyed" in row(markdown, stack)
    args = ["diff", "--base", str(base), "--head", str(head)]
    assert main(args) == 0
    assert main([*args, "--fail-on-destructive"]) == EXIT_DESTRUCTIVE
    assert MARKER in capsys.readouterr().out


def test_rollout_change(assemblies, tmp_path: Path) -> None:
    base, head = assemblies

    def canary(template: dict[str, Any]) -> None:
        endpoint = only_properties(template, "AWS::SageMaker::Endpoint")
        endpoint["DeploymentConfig"] = {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {
                    "Type": "CANARY",
                    "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 7},
                    "WaitIntervalInSeconds": 600,
                },
                "TerminationWaitInSeconds": 300,
            },
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "staging-iris-canary-5xx"}]},
        }

    line = row(render(compare(base, edited(head, tmp_path, canary))), STAGING)
    assert "rollout" in line
    assert "canary 7%, bake 10 min, then the rest" in line
    assert "auto-rollback on staging-iris-canary-5xx" in line


def test_capacity_and_alarm_changes(assemblies, tmp_path: Path) -> None:
    base, head = assemblies

    def bigger(template: dict[str, Any]) -> None:
        config = only_properties(template, "AWS::SageMaker::EndpointConfig")
        variant = config["ProductionVariants"][0]
        variant["InitialInstanceCount"] = 7
        template["Resources"]["ExtraAlarm"] = {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": "staging-iris-extra",
                "MetricName": "ModelLatency",
                "ComparisonOperator": "GreaterThanThreshold",
                "Threshold": 250000,
                "EvaluationPeriods": 1,
            },
        }

    line = row(render(compare(base, edited(head, tmp_path, bigger))), STAGING)
    assert "capacity" in line and "alarms" in line
    assert "x7" in line
    assert "+ staging-iris-extra: ModelLatency GreaterThanThreshold 250000" in line


def test_iam_change_is_called_out(assemblies, tmp_path: Path) -> None:
    base, head = assemblies

    def broaden(template: dict[str, Any]) -> None:
        policy_statements(template, prefix="ExecutionRole").append(
            {"Action": "s3:*", "Effect": "Allow", "Resource": "*"}
        )

    markdown = render(compare(base, edited(head, tmp_path, broaden)))
    assert "> [!WARNING]" in markdown
    assert "`Staging-iris`: 1 grant(s) added, 0 removed" in markdown
    assert "+ Allow `s3:*` on `*`" in markdown
    assert "IAM" in row(markdown, STAGING)


def test_bucket_replacement_is_destructive(assemblies, tmp_path: Path) -> None:
    base, head = assemblies

    def rename(template: dict[str, Any]) -> None:
        for logical, found in resources(template, "AWS::S3::Bucket").items():
            if "Logging" in json.dumps(found):
                found["Properties"]["BucketName"] = f"renamed-{logical.lower()}"

    report = compare(base, edited(head, tmp_path, rename))
    assert any(
        "bucket `Artifacts" in item and "will be replaced" in item for item in report.destructive
    )
    markdown = render(report)
    assert "⛔" in row(markdown, STAGING)


def test_no_changes_said_once(assemblies) -> None:
    base, _ = assemblies
    markdown = render(compare(base, base))
    assert markdown.count("No changes") == 1
    assert "| stack |" not in markdown and "<details>" not in markdown


@pytest.mark.parametrize("limit", [65_536 - 1, 6_000, 2_500])
def test_size_cap_drops_detail_before_summary(report: Report, limit: int) -> None:
    full = render(report, limit=10**9)
    capped = render(report, limit=limit)
    assert len(capped) <= limit
    for stack in report.changed:
        assert row(full, stack.name) in capped  # every summary row survives
    if len(full) > limit:
        assert "make diff BASE=<ref>" in capped


def test_summary_itself_is_cut_when_nothing_else_fits(report: Report) -> None:
    capped = render(report, limit=700)
    assert len(capped) <= 700
    assert capped.startswith(MARKER)
    assert "summary cut to fit" in capped
