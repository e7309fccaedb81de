"""The rollout in synthesized templates: DeploymentConfig for each strategy, A/B and shadow
variants, serverless, autoscaling that survives deploys, data capture, and the proof that a new
model version goes through the guardrails instead of replacing the endpoint."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from ops.diff.engine import run_engine
from tests.conftest import Synthesized, copy_project, synthesize, write_yaml
from tests.templates import alarms_by_name, only, only_properties, policy_statements, resources

SHADOW_SHA = "0" * 63 + "1"
SHADOW_URI = "s3://candidate-models/iris/2024-candidate.tar.gz"


@pytest.fixture(scope="module")
def variety(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """One synth covering every strategy and variant shape across four stacks.

    Staging-iris: linear, champion/challenger where the challenger serves models/iris-next.
    Prod-iris: canary (prod's default) with the same A/B pair, autoscaling, data capture.
    Staging-iris-next: a serverless variant, all at once.
    Prod-iris-next: rolling, with a shadow variant serving an archive already in S3.
    """
    root = copy_project(tmp_path_factory.mktemp("variety"))
    shutil.copytree(root / "models" / "iris", root / "models" / "iris-next")
    iris = root / "models" / "iris" / "config.yaml"
    data = yaml.safe_load(iris.read_text())
    data["variants"] = {
        "champion": {"weight": 90},
        "challenger": {"weight": 10, "model": "iris-next", "instance_type": "ml.c5.xlarge"},
    }
    data["alarms"] = {"error_rate_4xx": {"enabled": True, "threshold": 10}}
    data["environments"] = {
        "staging": {"rollout": {"strategy": "linear", "linear": {"step": "50%"}}},
        "prod": {"serving": {"instance_count": 2}},
    }
    write_yaml(iris, data)
    other = root / "models" / "iris-next" / "config.yaml"
    data = yaml.safe_load(other.read_text())
    data["environments"] = {
        "staging": {
            "serving": {"network_isolation": False},
            "variants": {"primary": {"serverless": {"memory_mb": 3072, "max_concurrency": 10}}},
            "dashboard": {"enabled": False},
        },
        "prod": {
            "serving": {"instance_count": 4},
            "rollout": {
                "strategy": "rolling",
                "rolling": {"batch": 1, "bake_seconds": 120, "rollback_batch": "50%"},
            },
            "shadow_variants": {
                "candidate": {
                    "model_data": {"s3_uri": SHADOW_URI, "sha256": SHADOW_SHA},
                    "sampling_percent": 50,
                    "instance_count": 1,
                }
            },
        },
    }
    write_yaml(other, data)
    return synthesize(root, root / "cdk.out", root / "bundles", stacks=("*-iris", "*-iris-next"))


def deployment(template: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = only_properties(template, "AWS::SageMaker::Endpoint")[
        "DeploymentConfig"
    ]
    return config


def execution_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The serving execution role's statements (training stacks have roles of their own)."""
    return policy_statements(template, prefix="ExecutionRole")


# --- strategies ------------------------------------------------------------------------------


def test_prod_rolls_out_by_canary_with_auto_rollback(synth: Synthesized) -> None:
    config = deployment(synth.templates["Prod-iris"])
    assert config["BlueGreenUpdatePolicy"] == {
        "TrafficRoutingConfiguration": {
            "Type": "CANARY",
            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
            "WaitIntervalInSeconds": 600,
        },
        "TerminationWaitInSeconds": 300,
        "MaximumExecutionTimeoutInSeconds": 3600,
    }
    assert config["AutoRollbackConfiguration"] == {
        "Alarms": [
            {"AlarmName": "prod-iris-primary-error-rate-5xx"},
            {"AlarmName": "prod-iris-primary-model-latency-p99"},
        ]
    }


def test_staging_rolls_out_all_at_once(synth: Synthesized) -> None:
    config = deployment(synth.templates["Staging-iris"])
    routing = config["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing == {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 120}
    assert "RollingUpdatePolicy" not in config
    assert len(config["AutoRollbackConfiguration"]["Alarms"]) == 2


def test_linear_steps(variety: Synthesized) -> None:
    routing = deployment(variety.templates["Staging-iris"])["BlueGreenUpdatePolicy"][
        "TrafficRoutingConfiguration"
    ]
    assert routing == {
        "Type": "LINEAR",
        "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 50},
        "WaitIntervalInSeconds": 300,
    }


def test_rolling_batches(variety: Synthesized) -> None:
    config = deployment(variety.templates["Prod-iris-next"])
    assert "BlueGreenUpdatePolicy" not in config
    assert config["RollingUpdatePolicy"] == {
        "MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1},
        "WaitIntervalInSeconds": 120,
        "RollbackMaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 50},
        "MaximumExecutionTimeoutInSeconds": 3600,
    }
    assert config["AutoRollbackConfiguration"]["Alarms"]


def test_endpoint_updates_wait_for_the_rollback_alarms(synth: Synthesized) -> None:
    template = synth.templates["Prod-iris"]
    _, endpoint = only(template, "AWS::SageMaker::Endpoint")
    names = {
        logical: alarm["Properties"]["AlarmName"]
        for logical, alarm in resources(template, "AWS::CloudWatch::Alarm").items()
    }
    rollback = {a["AlarmName"] for a in deployment(template)["AutoRollbackConfiguration"]["Alarms"]}
    waited_for = {names[d] for d in endpoint["DependsOn"] if d in names}
    assert waited_for == rollback


# --- variants --------------------------------------------------------------------------------


def test_champion_and_challenger_serve_their_own_model_versions(variety: Synthesized) -> None:
    template = variety.templates["Prod-iris"]
    variants = only_properties(template, "AWS::SageMaker::EndpointConfig")["ProductionVariants"]
    by_name = {v["VariantName"]: v for v in variants}
    assert set(by_name) == {"champion", "challenger"}
    assert (
        by_name["champion"]["InitialVariantWeight"],
        by_name["challenger"]["InitialVariantWeight"],
    ) == (90, 10)
    assert by_name["champion"]["InstanceType"] == "ml.m5.large"
    assert by_name["champion"]["InitialInstanceCount"] == 2
    assert by_name["challenger"]["InstanceType"] == "ml.c5.xlarge"
    models = resources(template, "AWS::SageMaker::Model")
    assert len(models) == 2
    champion_model = by_name["champion"]["ModelName"]["Fn::GetAtt"][0]
    challenger_model = by_name["challenger"]["ModelName"]["Fn::GetAtt"][0]
    assert champion_model != challenger_model
    next_sha = variety.bundles["iris-next"].sha256
    url = models[challenger_model]["Properties"]["PrimaryContainer"]["ModelDataUrl"]
    assert url.endswith(f"/{next_sha}.gz")
    assert template["Metadata"]["ModelVariants"]["challenger"] == {
        "kind": "production",
        "model": "iris-next",
        "sha256": next_sha,
    }
    # The execution role reads the challenger's bundle too, and nothing else new.
    reads = [s for s in execution_statements(template) if s["Sid"].startswith("ReadVariantModel")]
    assert len(reads) == 1 and reads[0]["Resource"].endswith(f"/{next_sha}.gz")


def test_shadow_variant_gets_a_share_of_copied_requests(variety: Synthesized) -> None:
    template = variety.templates["Prod-iris-next"]
    config = only_properties(template, "AWS::SageMaker::EndpointConfig")
    (production,) = config["ProductionVariants"]
    (shadow,) = config["ShadowProductionVariants"]
    assert shadow["VariantName"] == "candidate"
    assert shadow["InitialVariantWeight"] == production["InitialVariantWeight"] * 0.5
    assert shadow["InitialInstanceCount"] == 1
    model = resources(template, "AWS::SageMaker::Model")[shadow["ModelName"]["Fn::GetAtt"][0]]
    assert model["Properties"]["PrimaryContainer"]["ModelDataUrl"] == SHADOW_URI
    assert template["Metadata"]["ModelVariants"]["candidate"]["sha256"] == SHADOW_SHA
    assert any(
        s["Sid"].startswith("ReadVariantModel")
        and s["Resource"] == "arn:aws:s3:::candidate-models/iris/2024-candidate.tar.gz"
        for s in execution_statements(template)
    )


def test_serverless_variant(variety: Synthesized) -> None:
    template = variety.templates["Staging-iris-next"]
    (variant,) = only_properties(template, "AWS::SageMaker::EndpointConfig")["ProductionVariants"]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 3072, "MaxConcurrency": 10}
    assert "InstanceType" not in variant and "InitialInstanceCount" not in variant
    assert only_properties(template, "AWS::SageMaker::Model")["EnableNetworkIsolation"] is False
    # No instances: no utilisation alarms, no scaling; latency and errors still page.
    assert set(alarms_by_name(template)) == {
        "staging-iris-next-primary-error-rate-5xx",
        "staging-iris-next-primary-model-latency-p99",
        "staging-iris-next-primary-overhead-latency-p99",
    }
    assert not resources(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert not resources(template, "AWS::CloudWatch::Dashboard")


# --- autoscaling and data capture ------------------------------------------------------------


def test_autoscaling_tracks_invocations_and_deploys_keep_scaled_capacity(
    synth: Synthesized,
) -> None:
    template = synth.template("Prod-iris")
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {
            "ServiceNamespace": "sagemaker",
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
            "ResourceId": "endpoint/prod-iris/variant/primary",
            "MinCapacity": 2,
            "MaxCapacity": 4,
        },
    )
    _, target = only(synth.templates["Prod-iris"], "AWS::ApplicationAutoScaling::ScalableTarget")
    assert "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint" in str(
        target["Properties"]["RoleARN"]
    )
    assert "ServingEndpointC149CBA2" in target["DependsOn"]
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                },
                "TargetValue": 100,
                "ScaleInCooldown": 300,
                "ScaleOutCooldown": 60,
            },
        },
    )
    endpoint = only_properties(synth.templates["Prod-iris"], "AWS::SageMaker::Endpoint")
    assert endpoint["RetainAllVariantProperties"] is True
    assert endpoint["ExcludeRetainedVariantProperties"] == [
        {"VariantPropertyType": "DesiredWeight"},
        {"VariantPropertyType": "DataCaptureConfig"},
    ]


def test_without_autoscaling_a_deploy_applies_the_configured_capacity(synth: Synthesized) -> None:
    endpoint = only_properties(synth.templates["Staging-iris"], "AWS::SageMaker::Endpoint")
    assert "RetainAllVariantProperties" not in endpoint
    assert not resources(
        synth.templates["Staging-iris"], "AWS::ApplicationAutoScaling::ScalableTarget"
    )


def test_data_capture_into_the_artifact_bucket_with_kms(synth: Synthesized) -> None:
    template = synth.templates["Prod-iris"]
    capture = only_properties(template, "AWS::SageMaker::EndpointConfig")["DataCaptureConfig"]
    key_id, _ = only(template, "AWS::KMS::Key")
    bucket = "ArtifactsBucket88671897"
    assert capture == {
        "EnableCapture": True,
        "InitialSamplingPercentage": 10,
        # SageMaker appends <endpoint>/<variant>/yyyy/mm/dd/hh itself: the destination ends
        # at the prefix, so captures land at data-capture/prod-iris/primary/..., once.
        "DestinationS3Uri": {"Fn::Join": ["", ["s3://", {"Ref": bucket}, "/data-capture"]]},
        "KmsKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        # iris is sent and answers JSON; CSV as the SDK declares it: captured as text.
        "CaptureContentTypeHeader": {
            "CsvContentTypes": ["text/csv"],
            "JsonContentTypes": ["application/json"],
        },
    }
    encrypt = next(s for s in execution_statements(template) if s["Sid"] == "EncryptDataCapture")
    assert encrypt["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert "DataCaptureConfig" not in only_properties(
        synth.templates["Staging-iris"], "AWS::SageMaker::EndpointConfig"
    )


# --- a new model version goes through the guardrails -----------------------------------------


def test_a_new_model_version_replaces_model_and_config_and_updates_the_endpoint(
    tmp_path: Path, synth: Synthesized
) -> None:
    root = copy_project(tmp_path / "project")
    inference = root / "models" / "iris" / "inference.py"
    inference.write_text(inference.read_text() + "\n# a new model version\n")
    after = synthesize(root, tmp_path / "cdk.out", tmp_path / "bundles", stacks=("*-iris",))
    assert after.bundles["iris"].sha256 != synth.bundles["iris"].sha256

    for stack in ("Staging-iris", "Prod-iris"):
        old, new = synth.templates[stack], after.templates[stack]
        # Every logical id is pinned: nothing is added, removed or renamed.
        assert set(old["Resources"]) == set(new["Resources"])
        (result,) = run_engine([(stack, old, new)])
        impacts = {r.logical_id: (r.type, r.impact) for r in result.resources}
        by_type: dict[str, set[str]] = {}
        for kind, impact in impacts.values():
            by_type.setdefault(kind, set()).add(impact)
        # The Model is replaced (its ModelDataUrl changed) and with it the EndpointConfig that
        # names it; the execution role's policy reads the new object and is updated in place.
        # The training pipeline runs the new code: it and its role's policy update in place.
        # Nothing else changes, and above all the Endpoint is not replaced.
        assert by_type.pop("AWS::SageMaker::Model") == {"WILL_REPLACE"}
        assert by_type.pop("AWS::SageMaker::EndpointConfig") == {"WILL_REPLACE"}
        assert by_type.pop("AWS::SageMaker::Endpoint", {"WILL_UPDATE"}) == {"WILL_UPDATE"}
        assert by_type.pop("AWS::SageMaker::Pipeline", {"WILL_UPDATE"}) == {"WILL_UPDATE"}
        policies = {k for k, (kind, _) in impacts.items() if kind == "AWS::IAM::Policy"}
        assert by_type.pop("AWS::IAM::Policy") == {"WILL_UPDATE"}
        assert {p for p in policies if p.startswith("ExecutionRole")}, policies
        assert policies <= {p for p in policies if p.startswith(("ExecutionRole", "Training"))}
        assert by_type == {}, by_type

        # The EndpointConfig names the Model by GetAtt and has no name of its own, so it can be
        # replaced. The Endpoint keeps its explicit name and moves to the new
        # config in place (EndpointConfigName: "Update requires: No interruption"), so the
        # rollout runs through DeploymentConfig.
        config_id, config = only(new, "AWS::SageMaker::EndpointConfig")
        model_id, _ = only(new, "AWS::SageMaker::Model")
        assert "EndpointConfigName" not in config["Properties"]
        for variant in config["Properties"]["ProductionVariants"]:
            assert variant["ModelName"] == {"Fn::GetAtt": [model_id, "ModelName"]}
        endpoint = only_properties(new, "AWS::SageMaker::Endpoint")
        old_endpoint = only_properties(old, "AWS::SageMaker::Endpoint")
        assert endpoint["EndpointName"] == old_endpoint["EndpointName"]
        assert endpoint["EndpointConfigName"] == {"Fn::GetAtt": [config_id, "EndpointConfigName"]}
        assert "DeploymentConfig" in endpoint
        # Latency alarms follow the new config, so they watch the new fleet during the rollout.
        latency = next(
            a
            for a in resources(new, "AWS::CloudWatch::Alarm").values()
            if a["Properties"].get("MetricName") == "ModelLatency"
        )
        assert {
            "Name": "EndpointConfigName",
            "Value": {"Fn::GetAtt": [config_id, "EndpointConfigName"]},
        } in latency["Properties"]["Dimensions"]
