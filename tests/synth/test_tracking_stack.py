"""Tracking in AWS: with `tracking.mlflow.enabled` in staging, each staging stack that trains
gets a SageMaker managed MLflow tracking server, its pipeline logs each execution's run there
and the registered package records the run. Checked on a project copy with tracking on (the
repository's environments keep it off): template assertions, cfn-lint, cdk-nag and the
project's rule pack, and the definition against the SDK's own Pipeline and botocore's model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.constructs.pipeline_contract import TRACKING_SERVER_ARN
from stacks.pipeline_definition import REGISTER_STEP, TRAIN_STEP, build_definition
from stacks.pipeline_tracking import RUN_METADATA, TRACKING_ENVIRONMENT
from tests.conftest import ROOT, Synthesized, copy_project, synthesize
from tests.pipeline_support import pipeline_inputs
from tests.synth.test_training_pipeline import SUBSTITUTES, _sample, body_of, steps_by_name
from tests.templates import acknowledgements, assert_cfn_lint_clean, only, statements_by_sid

SERVER = "AWS::SageMaker::MlflowTrackingServer"
# Stateful (the run history): renaming it would replace the server and lose its runs.
SERVER_LOGICAL_ID = "TrackingServerFA53660A"
STAGING = ("Staging-iris", "Staging-digits")


@pytest.fixture(scope="module")
def tracked(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    root = copy_project(tmp_path_factory.mktemp("tracked"))
    staging = root / "configs" / "staging.yaml"
    config = yaml.safe_load(staging.read_text())
    config["tracking"] = {"mlflow": {"enabled": True, "maintenance_window": "Sun:03:00"}}
    staging.write_text(yaml.safe_dump(config, sort_keys=False))
    # The CDK's built-in CloudFormation validation stays off (its schema engine costs this
    # worker 8 to 12 CPU-seconds): the templates tracking changes are checked by cfn-lint below,
    # and the report read below is cdk-nag's and the rule pack's, which synth always runs.
    return synthesize(root, root / "cdk.out", root / "bundles")


def test_each_staging_stack_that_trains_gets_a_retained_tracking_server(
    tracked: Synthesized,
) -> None:
    for name in STAGING:
        template = tracked.templates[name]
        logical, server = only(template, SERVER)
        assert logical == SERVER_LOGICAL_ID, name
        assert server["DeletionPolicy"] == server["UpdateReplacePolicy"] == "Retain"
        props = server["Properties"]
        model = name.split("-", 1)[1]
        assert props["TrackingServerName"] == f"staging-{model}"
        assert props["ArtifactStoreUri"] == {
            "Fn::Join": ["", ["s3://", {"Ref": "ArtifactsBucket88671897"}, "/mlflow"]]
        }
        assert props["AutomaticModelRegistration"] is False
        assert (props["TrackingServerSize"], props["WeeklyMaintenanceWindowStart"]) == (
            "Small",
            "Sun:03:00",
        )
        assert template["Outputs"]["TrackingServerArn"]["Value"] == {
            "Fn::GetAtt": [SERVER_LOGICAL_ID, "TrackingServerArn"]
        }
    for name in ("Prod-iris", "Prod-digits"):
        assert SERVER not in {r["Type"] for r in tracked.templates[name]["Resources"].values()}


def test_tracking_off_leaves_the_templates_as_they_were(
    tracked: Synthesized, synth: Synthesized
) -> None:
    """Prod keeps tracking off in the copy: its templates are the repository's own."""
    for name in ("Prod-iris", "Prod-digits"):
        assert tracked.templates[name] == synth.templates[name], name


def test_the_server_role_reaches_only_its_artifact_prefix(tracked: Synthesized) -> None:
    template = tracked.templates["Staging-iris"]
    statements = statements_by_sid(template, prefix="TrackingRoleDefaultPolicy")
    bucket = {"Fn::GetAtt": ["ArtifactsBucket88671897", "Arn"]}
    objects = {"Fn::Join": ["", [bucket, "/mlflow/*"]]}
    assert statements["ReadWriteRunArtifacts"]["Resource"] == objects
    assert set(statements["ReadWriteRunArtifacts"]["Action"]) == {
        "s3:GetObject",
        "s3:PutObject",
        "s3:AbortMultipartUpload",
    }
    assert statements["ListRunArtifacts"]["Condition"] == {
        "StringLike": {"s3:prefix": ["mlflow/*"]}
    }
    assert set(statements) == {"ReadWriteRunArtifacts", "ListRunArtifacts", "LocateArtifactBucket"}
    _, role = only(template, "AWS::IAM::Role", prefix="TrackingRole")
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}


def test_the_pipeline_role_records_runs_on_its_own_server_only(tracked: Synthesized) -> None:
    template = tracked.templates["Staging-digits"]
    statements = statements_by_sid(template, prefix="TrainingRoleDefaultPolicy")
    record = statements["RecordRuns"]
    assert record["Resource"] == {"Fn::GetAtt": [SERVER_LOGICAL_ID, "TrackingServerArn"]}
    assert all(a.startswith("sagemaker-mlflow:") for a in record["Action"])
    assert not any("Delete" in a or a.endswith("*") for a in record["Action"])
    upload = statements["UploadRunArtifacts"]
    assert set(upload["Action"]) == {"s3:PutObject", "s3:AbortMultipartUpload"}
    assert upload["Resource"]["Fn::Join"][1][-1] == "/mlflow/*"


def test_the_definition_names_the_server_the_experiment_and_the_run(
    tracked: Synthesized,
) -> None:
    text, variables = body_of(tracked.templates["Staging-iris"])
    assert variables[TRACKING_SERVER_ARN] == {
        "Fn::GetAtt": [SERVER_LOGICAL_ID, "TrackingServerArn"]
    }
    definition = json.loads(text)
    server = "${" + TRACKING_SERVER_ARN + "}"
    assert definition["MlflowConfig"] == {
        "MlflowResourceArn": server,
        "MlflowExperimentName": "staging-iris",
    }
    steps = steps_by_name(definition)
    execution = {"Get": "Execution.PipelineExecutionId"}
    train = steps[TRAIN_STEP]["Arguments"]
    assert train["MlflowConfig"] == {
        "MlflowResourceArn": server,
        "MlflowExperimentName": "staging-iris",
        "MlflowRunName": execution,
    }
    environment = train["Environment"]
    assert set(environment) == set(TRACKING_ENVIRONMENT)
    assert environment["MLFLOW_TRACKING_URI"] == server
    assert environment["MODELKIT_RUN_NAME"] == execution
    metadata = steps[REGISTER_STEP]["Arguments"]["CustomerMetadataProperties"]
    assert {k: metadata[k] for k in RUN_METADATA} == {
        "mlflow-tracking-server": server,
        "mlflow-experiment": "staging-iris",
        "mlflow-run-name": execution,
        "mlflow-run-id": {"Get": f"Steps.{TRAIN_STEP}.MlflowDetails.MlflowRunId"},
    }
    # The archive the job runs is the one whose sha256 the run records.
    assert environment["MODELKIT_CODE_SHA256"] == metadata["training-code-sha256"]


def test_cfn_lint_finds_nothing(tracked: Synthesized, synth: Synthesized) -> None:
    """The templates tracking changes; the others are the repository's own, which
    test_lint.py lints (cfn-lint costs about two CPU-seconds a template)."""
    changed = sorted(name for name, t in tracked.templates.items() if t != synth.templates[name])
    assert changed == sorted(STAGING)
    assert_cfn_lint_clean(tracked.outdir / f"{name}.template.json" for name in changed)


def test_cdk_nag_and_the_rule_pack_find_nothing_unacknowledged(tracked: Synthesized) -> None:
    """Synth fails on an unacknowledged finding (`stacks.checks.plugin`); the report agrees,
    and the two new wildcards are acknowledged one by one with their reason."""
    report = json.loads((tracked.outdir / "validation-report.json").read_text())
    violations = [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])]
    assert violations == []
    acknowledged = acknowledgements(tracked.outdir)
    tracking = {k: v for k, v in acknowledged.items() if "mlflow" in k[1]}
    assert {construct.split("/")[2] for construct, _ in tracking} == {"Tracking", "Training"}
    for (construct, rule), reason in tracking.items():
        assert rule.endswith("AwsSolutions-IAM5[Resource::<ArtifactsBucket88671897.Arn>/mlflow/*]")
        assert "mlflow/ prefix" in reason, construct


# --- the definition, without synth ------------------------------------------------------------


def _tracked_inputs() -> Any:
    from dataclasses import replace

    return replace(pipeline_inputs(), mlflow_experiment="staging-iris")


def test_the_sdk_pipeline_writes_the_same_mlflow_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's `Pipeline(mlflow_config=...)` around the same steps gives the same definition."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    import boto3
    from sagemaker.core.helper.session_helper import Session
    from sagemaker.core.shapes.shapes import MlflowConfig
    from sagemaker.mlops.workflow.pipeline import Pipeline

    ours = json.loads(build_definition(_tracked_inputs()))
    pipeline = Pipeline(
        name="staging-iris-training",
        mlflow_config=MlflowConfig(
            mlflow_resource_arn="${" + TRACKING_SERVER_ARN + "}",
            mlflow_experiment_name="staging-iris",
        ),
        steps=[],
        sagemaker_session=Session(boto_session=boto3.Session(region_name="eu-west-1")),
        pipeline_experiment_config=None,
    )
    assert json.loads(pipeline.definition())["MlflowConfig"] == ours["MlflowConfig"]


def test_tracked_steps_are_valid_sagemaker_requests() -> None:
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("sagemaker")
    text = build_definition(_tracked_inputs())
    substitutes = {
        **SUBSTITUTES,
        TRACKING_SERVER_ARN: "arn:aws:sagemaker:eu-west-1:111111111111:"
        "mlflow-tracking-server/staging-iris",
    }
    for name, value in substitutes.items():
        text = text.replace("${" + name + "}", value)
    steps = steps_by_name(json.loads(text))
    for step, operation, extra in (
        (TRAIN_STEP, "CreateTrainingJob", {"TrainingJobName": "job"}),
        (REGISTER_STEP, "CreateModelPackage", {}),
    ):
        shape = model.operation_model(operation).input_shape
        assert shape is not None
        arguments = steps[step]["Arguments"]
        assert set(arguments) <= set(shape.members), set(arguments) - set(shape.members)
        report = ParamValidator().validate({**_sample(arguments, shape), **extra}, shape)
        assert not report.has_errors(), report.generate_report()
    untracked = steps_by_name(json.loads(build_definition(pipeline_inputs())))
    assert "MlflowConfig" not in untracked[TRAIN_STEP]["Arguments"]


def test_the_code_sha256_make_train_records_is_the_pipeline_archive(
    synth: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command `make train` runs (`python -m ops runs code-sha256`), through its `main` in
    this process rather than a new Python."""
    from ops.__main__ import main

    text, _ = body_of(synth.templates["Staging-iris"])
    register = steps_by_name(json.loads(text))[REGISTER_STEP]["Arguments"]
    args = ["runs", "code-sha256", "iris", "--root", str(ROOT), "--cache-dir", str(tmp_path)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert printed.strip() == register["CustomerMetadataProperties"]["training-code-sha256"]
