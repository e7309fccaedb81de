"""The project's cdk-nag pack: each rule fails on a small stack that breaks it and passes on one
that keeps it; the real stacks pass every rule; config reaches the template (KMS, VPC)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest
import yaml

from tests.conftest import Synthesized, copy_project, small_app, synthesize, write_yaml
from tests.templates import acknowledgements, only, only_properties, resources

ROLE_ARN = "arn:aws:iam::111111111111:role/sagemaker-execution"
IMAGE = "763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-inference:2.6-cpu-py312"
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
GROUPS = ["sg-0123456789abcdef0"]


# Fills a stack with the resources a case needs; what it returns (the constructs) is not used.
Build = Callable[[Any], object]


def findings(build: Build) -> dict[str, list[str]]:
    """Rule id -> logical ids of its findings, in the template of the stack `build` fills."""
    from aws_cdk import Environment, Stack

    from stacks.checks.pack import check_template

    app = small_app()
    stack = Stack(app, "S", env=Environment(account="111111111111", region="eu-west-1"))
    build(stack)
    found: dict[str, list[str]] = {}
    for finding in check_template(app.synth().get_stack_by_name("S").template):
        found.setdefault(finding.rule.id, []).append(finding.logical_id)
    return found


def synth_report(build: Build, outdir: Path) -> tuple[bool, dict[str, Any]]:
    """Synthesize the stack `build` fills with the project's checks on: whether synth failed
    validation, and the validation report (it lists only plugins with findings)."""
    from aws_cdk import Environment, Stack

    from stacks.checks.plugin import add_checks

    app = small_app(outdir)
    build(Stack(app, "S", env=Environment(account="111111111111", region="eu-west-1")))
    add_checks(app)
    failed = False
    try:
        app.synth()
    except RuntimeError as error:
        assert "ValidationFailed" in str(error)
        failed = True
    return failed, json.loads((outdir / "validation-report.json").read_text())


# --- small resources -------------------------------------------------------------------------


def model(stack: Any, id_: str = "Model", **extra: Any) -> Any:
    from aws_cdk import aws_sagemaker as sm

    return sm.CfnModel(
        stack,
        id_,
        execution_role_arn=ROLE_ARN,
        primary_container=sm.CfnModel.ContainerDefinitionProperty(
            image=IMAGE, model_data_url="s3://b/model.tar.gz"
        ),
        **extra,
    )


def endpoint_config(stack: Any, instance_type: str | None = "ml.m5.large", **extra: Any) -> Any:
    from aws_cdk import aws_sagemaker as sm

    Config = sm.CfnEndpointConfig
    variant = Config.ProductionVariantProperty(
        variant_name="primary",
        model_name="m",
        initial_variant_weight=1,
        instance_type=instance_type,
        initial_instance_count=1 if instance_type else None,
        serverless_config=(
            None
            if instance_type
            else Config.ServerlessConfigProperty(memory_size_in_mb=2048, max_concurrency=5)
        ),
    )
    return Config(stack, "Config", production_variants=[variant], **extra)


def key_arn(stack: Any) -> str:
    from aws_cdk import aws_kms as kms

    return str(kms.Key(stack, "Key", enable_key_rotation=True).key_arn)


def capture(kms_key_id: str | None) -> Any:
    from aws_cdk import aws_sagemaker as sm

    Config = sm.CfnEndpointConfig
    return Config.DataCaptureConfigProperty(
        destination_s3_uri="s3://b/capture",
        initial_sampling_percentage=10,
        capture_options=[Config.CaptureOptionProperty(capture_mode="Input")],
        kms_key_id=kms_key_id,
    )


def endpoint(stack: Any, *, rollback: list[str] | None = None, guarded: bool = False) -> Any:
    from aws_cdk import aws_sagemaker as sm

    E = sm.CfnEndpoint
    deployment = None
    if guarded:
        deployment = E.DeploymentConfigProperty(
            blue_green_update_policy=E.BlueGreenUpdatePolicyProperty(
                traffic_routing_configuration=E.TrafficRoutingConfigProperty(type="ALL_AT_ONCE")
            ),
            auto_rollback_configuration=(
                E.AutoRollbackConfigProperty(
                    alarms=[E.AlarmProperty(alarm_name=n) for n in rollback]
                )
                if rollback
                else None
            ),
        )
    return E(
        stack, "Endpoint", endpoint_name="e", endpoint_config_name="c", deployment_config=deployment
    )


def alarm(stack: Any, id_: str, endpoint_name: str, name: str | None = None) -> Any:
    from aws_cdk import aws_cloudwatch as cw

    return cw.Alarm(
        stack,
        id_,
        alarm_name=name,
        metric=cw.Metric(
            namespace="AWS/SageMaker",
            metric_name="Invocation5XXErrors",
            dimensions_map={"EndpointName": endpoint_name, "VariantName": "primary"},
        ),
        threshold=1,
        evaluation_periods=1,
    )


def policy(stack: Any, actions: list[str], resources: list[str]) -> None:
    from aws_cdk import aws_iam as iam

    iam.CfnPolicy(
        stack,
        "Policy",
        policy_name="p",
        roles=["r"],
        policy_document={
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resources}],
        },
    )


# --- one failing and one passing case per rule ----------------------------------------------

CASES: dict[str, tuple[Build, Build]] = {
    "SageMaker-EndpointConfigKMS": (
        lambda s: endpoint_config(s),
        lambda s: endpoint_config(s, kms_key_id=key_arn(s)),
    ),
    "SageMaker-DataCaptureKMS": (
        lambda s: endpoint_config(s, kms_key_id=key_arn(s), data_capture_config=capture(None)),
        lambda s: _capture_with_key(s),
    ),
    "SageMaker-ModelNetworkIsolation": (
        lambda s: model(s),
        lambda s: model(s, enable_network_isolation=True),
    ),
    "SageMaker-ModelVPC": (
        lambda s: (
            model(s, "A", enable_network_isolation=True, vpc_config=_vpc()),
            model(s, "B", enable_network_isolation=True),
        ),
        lambda s: (
            model(s, "A", enable_network_isolation=True, vpc_config=_vpc()),
            model(s, "B", enable_network_isolation=True, vpc_config=_vpc()),
        ),
    ),
    "SageMaker-IAMNoFullAccess": (
        lambda s: _role(s, managed=["AmazonSageMakerFullAccess"]),
        lambda s: _role(s, managed=["AmazonSageMakerReadOnly"]),
    ),
    "SageMaker-IAMNoPassRoleOnWildcard": (
        lambda s: policy(s, ["iam:PassRole"], ["*"]),
        lambda s: policy(s, ["iam:PassRole"], [ROLE_ARN]),
    ),
    "SageMaker-SNSSSLOnly": (
        lambda s: _topic(s, ssl=False),
        lambda s: _topic(s, ssl=True),
    ),
    "SageMaker-S3SSLOnly": (
        lambda s: _bucket(s, ssl=False),
        lambda s: _bucket(s, ssl=True),
    ),
    "SageMaker-EndpointAlarms": (
        lambda s: (endpoint(s), alarm(s, "Other", "another-endpoint")),
        lambda s: (endpoint(s), alarm(s, "Errors", "e")),
    ),
    "SageMaker-RollbackAlarms": (
        lambda s: (endpoint(s, guarded=True), alarm(s, "Errors", "e", "e-errors")),
        lambda s: (
            endpoint(s, guarded=True, rollback=["e-errors"]),
            alarm(s, "E", "e", "e-errors"),
        ),
    ),
    "SageMaker-MonitoringJobKMS": (
        lambda s: _monitoring_job(s, encrypted=False, isolated=True),
        lambda s: _monitoring_job(s, encrypted=True, isolated=True),
    ),
    "SageMaker-MonitoringJobNetworkIsolation": (
        lambda s: _monitoring_job(s, encrypted=True, isolated=False),
        lambda s: _monitoring_job(s, encrypted=True, isolated=True),
    ),
}


def _monitoring_job(stack: Any, *, encrypted: bool, isolated: bool) -> None:
    from aws_cdk import aws_sagemaker as sm

    job = sm.CfnDataQualityJobDefinition
    arn = key_arn(stack) if encrypted else None
    job(
        stack,
        "Job",
        data_quality_app_specification=job.DataQualityAppSpecificationProperty(image_uri=IMAGE),
        data_quality_job_input=job.DataQualityJobInputProperty(
            endpoint_input=job.EndpointInputProperty(endpoint_name="e", local_path="/in")
        ),
        data_quality_job_output_config=job.MonitoringOutputConfigProperty(
            kms_key_id=arn,
            monitoring_outputs=[
                job.MonitoringOutputProperty(
                    s3_output=job.S3OutputProperty(local_path="/out", s3_uri="s3://b/out")
                )
            ],
        ),
        job_resources=job.MonitoringResourcesProperty(
            cluster_config=job.ClusterConfigProperty(
                instance_count=1,
                instance_type="ml.m5.large",
                volume_size_in_gb=20,
                volume_kms_key_id=arn,
            )
        ),
        network_config=job.NetworkConfigProperty(enable_network_isolation=isolated),
        role_arn=ROLE_ARN,
    )


def _capture_with_key(stack: Any) -> None:
    arn = key_arn(stack)
    endpoint_config(stack, kms_key_id=arn, data_capture_config=capture(arn))


def _vpc() -> Any:
    from aws_cdk import aws_sagemaker as sm

    return sm.CfnModel.VpcConfigProperty(subnets=SUBNETS, security_group_ids=GROUPS)


def _role(stack: Any, *, managed: list[str]) -> None:
    from aws_cdk import aws_iam as iam

    iam.Role(
        stack,
        "Role",
        assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(m) for m in managed],
    )


def _topic(stack: Any, *, ssl: bool) -> None:
    from aws_cdk import aws_sns as sns

    sns.Topic(stack, "Topic", enforce_ssl=ssl)


def _bucket(stack: Any, *, ssl: bool) -> None:
    from aws_cdk import aws_s3 as s3

    s3.Bucket(stack, "Bucket", enforce_ssl=ssl)


def test_every_rule_has_a_failing_and_a_passing_case() -> None:
    from stacks.checks.pack import RULES

    assert sorted(CASES) == sorted(rule.id for rule in RULES)
    assert len(RULES) == 12


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_fails_when_broken(rule: str) -> None:
    broken, _ = CASES[rule]
    assert rule in findings(broken)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_passes_when_kept(rule: str) -> None:
    _, kept = CASES[rule]
    assert rule not in findings(kept)


# --- edges of single rules ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instance_type", "with_key", "flagged"),
    [
        ("ml.g5.xlarge", False, False),  # local NVMe: encrypted in hardware, no key allowed
        ("ml.g5.xlarge", True, True),  # SageMaker would refuse the EndpointConfig
        ("ml.m5d.large", True, True),
        (None, False, False),  # serverless: no volume of its own
        ("ml.c5.xlarge", False, True),
    ],
)
def test_endpoint_config_kms_follows_the_instance_type(
    instance_type: str | None, with_key: bool, flagged: bool
) -> None:
    def build(stack: Any) -> None:
        endpoint_config(stack, instance_type, kms_key_id=key_arn(stack) if with_key else None)

    assert ("SageMaker-EndpointConfigKMS" in findings(build)) is flagged


def test_vpc_without_security_groups_is_flagged() -> None:
    from aws_cdk import aws_sagemaker as sm

    def build(stack: Any) -> None:
        model(
            stack,
            enable_network_isolation=True,
            vpc_config=sm.CfnModel.VpcConfigProperty(subnets=SUBNETS, security_group_ids=[]),
        )

    assert "SageMaker-ModelVPC" in findings(build)


@pytest.mark.parametrize(
    ("actions", "resources"),
    [
        (["iam:*"], ["arn:aws:iam::111111111111:role/*"]),
        (["*"], ["*"]),
        (["iam:Pass*"], ["*"]),
    ],
)
def test_pass_role_through_wildcards_is_flagged(actions: list[str], resources: list[str]) -> None:
    assert "SageMaker-IAMNoPassRoleOnWildcard" in findings(lambda s: policy(s, actions, resources))


def test_rollback_alarm_missing_from_the_stack_is_flagged() -> None:
    def build(stack: Any) -> None:
        endpoint(stack, guarded=True, rollback=["somewhere-else"])
        alarm(stack, "Errors", "e", "e-errors")

    assert "SageMaker-RollbackAlarms" in findings(build)


def test_an_acknowledged_finding_passes_and_keeps_its_reason(tmp_path: Path) -> None:
    from stacks.checks.acknowledge import acknowledge

    def build(stack: Any) -> None:
        acknowledge(
            model(stack),
            "SageMaker-ModelNetworkIsolation",
            "the container installs requirements at start-up",
        )
        model(stack, "Careless")

    failed, report = synth_report(build, tmp_path)
    assert failed
    (plugin,) = [p for p in report["pluginReports"] if p["pluginName"] == "SageMakerChecks"]
    # Acknowledged on one construct only: the other model still fails synth.
    flagged = [c["constructPath"] for v in plugin["violations"] for c in v["violatingConstructs"]]
    assert flagged == ["S/Careless"]
    (suppressed,) = plugin["suppressedViolations"]
    assert suppressed["ruleName"] == "SageMaker-ModelNetworkIsolation"
    assert [c["constructPath"] for c in suppressed["violatingConstructs"]] == ["S/Model"]
    assert suppressed["reason"] == "the container installs requirements at start-up"


def test_a_clean_stack_passes_and_a_broken_one_fails(tmp_path: Path) -> None:
    assert synth_report(lambda s: model(s, enable_network_isolation=True), tmp_path / "a") == (
        False,
        {"version": ANY, "title": "Validation Report", "pluginReports": []},
    )
    failed, report = synth_report(lambda s: model(s), tmp_path / "b")
    assert failed
    assert [p["pluginName"] for p in report["pluginReports"]] == ["SageMakerChecks"]


def test_add_checks_runs_the_pack_and_fails_synth(tmp_path: Path) -> None:
    from aws_cdk import Stack

    from stacks.checks.plugin import add_checks

    app = small_app(tmp_path)
    model(Stack(app, "Careless"))
    add_checks(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    plugins = {p["pluginName"]: p for p in report["pluginReports"]}
    rules = {v["ruleName"] for v in plugins["SageMakerChecks"]["violations"]}
    assert "SageMaker-ModelNetworkIsolation" in rules


# --- the real stacks ---------------------------------------------------------------------------


def test_real_stacks_pass_every_rule(synth: Synthesized) -> None:
    from stacks.checks.pack import check_template

    assert synth.templates
    for name, template in synth.templates.items():
        assert [(f.rule.id, f.logical_id) for f in check_template(template)] == [], name


@pytest.mark.parametrize("stack", ["Staging-iris", "Prod-iris"])
def test_endpoint_config_encrypts_volumes_with_the_stack_key(
    synth: Synthesized, stack: str
) -> None:
    key, _ = only(synth.templates[stack], "AWS::KMS::Key")
    config = only_properties(synth.templates[stack], "AWS::SageMaker::EndpointConfig")
    assert config["KmsKeyId"] == {"Fn::GetAtt": [key, "Arn"]}


@pytest.fixture(scope="module")
def in_vpc(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """iris in a VPC, with a challenger variant served by another model folder."""
    import shutil

    root = copy_project(tmp_path_factory.mktemp("vpc"))
    shutil.copytree(root / "models" / "iris", root / "models" / "iris-next")
    path = root / "models" / "iris" / "config.yaml"
    data = yaml.safe_load(path.read_text())
    data["serving"]["vpc"] = {"subnet_ids": SUBNETS, "security_group_ids": GROUPS}
    data["variants"] = {
        "champion": {"weight": 90},
        "challenger": {"weight": 10, "model": "iris-next"},
    }
    write_yaml(path, data)
    # The tests read staging's two stacks; prod builds the same constructs from the same config.
    return synthesize(
        root, root / "cdk.out", root / "bundles", stacks=("Staging-iris", "Staging-iris-next")
    )


def test_vpc_from_config_reaches_every_model_of_the_endpoint(in_vpc: Synthesized) -> None:
    models = resources(in_vpc.templates["Staging-iris"], "AWS::SageMaker::Model")
    assert len(models) == 2
    for m in models.values():
        assert m["Properties"]["VpcConfig"] == {"Subnets": SUBNETS, "SecurityGroupIds": GROUPS}
    others = [r for r in in_vpc.templates["Staging-iris-next"]["Resources"].values()]
    assert all("VpcConfig" not in r.get("Properties", {}) for r in others)


def test_vpc_role_creates_interfaces_only_in_the_configured_network(in_vpc: Synthesized) -> None:
    statements = {
        s["Sid"]: s
        for r in resources(in_vpc.templates["Staging-iris"], "AWS::IAM::Policy").values()
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    }
    create = json.dumps(statements["VpcCreateInterfaces"]["Resource"])
    for name in [*SUBNETS, *GROUPS]:
        assert name in create
    assert statements["VpcDescribe"]["Resource"] == "*"
    assert all(a.startswith("ec2:Describe") for a in statements["VpcDescribe"]["Action"])


def test_vpc_is_refused_for_serverless(project_copy: Path) -> None:
    from configs.errors import ConfigError
    from configs.loader import load_project

    path = project_copy / "models" / "iris" / "config.yaml"
    data = yaml.safe_load(path.read_text())
    data["serving"] = {
        "network_isolation": False,
        "vpc": {"subnet_ids": SUBNETS, "security_group_ids": GROUPS},
    }
    data["variants"] = {"primary": {"serverless": {"memory_mb": 2048}}}
    write_yaml(path, data)
    with pytest.raises(ConfigError) as raised:
        load_project(project_copy)
    assert "serving.vpc" in str(raised.value)
    assert "does not support VPC" in str(raised.value)


def test_turning_isolation_off_is_acknowledged_with_the_config_reason(
    project_copy: Path, tmp_path: Path
) -> None:
    path = project_copy / "models" / "iris" / "config.yaml"
    data = yaml.safe_load(path.read_text())
    data["serving"]["network_isolation"] = False
    write_yaml(path, data)
    built = synthesize(
        project_copy, tmp_path / "out", tmp_path / "bundles", stacks=("Staging-iris",)
    )
    reasons = acknowledgements(built.outdir, "Staging-iris.metadata.json")
    acknowledged = {k: v for k, v in reasons.items() if "ModelNetworkIsolation" in k[1]}
    assert len(acknowledged) == 1
    ((construct, _), reason) = next(iter(acknowledged.items()))
    assert construct.endswith("/Model/Resource")
    assert "serving.network_isolation is false" in reason
