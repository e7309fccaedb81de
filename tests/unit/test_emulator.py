"""The emulator's extensions to moto, one behaviour each, in-process against moto's backends.

Every test here fails on stock moto 5.2.5: the resource would be skipped ("No Moto
CloudFormation support"), the explicit name ignored, the change set mixed up or failing, the
endpoint left on its old config, or InvokeEndpoint answered with canned text. The first test
checks the one thing that holds on stock moto too: the extensions apply only while installed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.cloudformation import parsing

from ops.emulator import model_servers
from ops.emulator.extensions import installed
from ops.emulator.extensions.resources import MODELS
from tests.emulator_support import (
    REGION,
    ROLE,
    FakeModelServer,
    bootstrapped,
    cfn,
    deploy,
    physical,
    sagemaker_resources,
    template,
)


@pytest.fixture
def aws(aws_credentials: None) -> Iterator[None]:
    with bootstrapped():
        yield


# --------------------------------------------------------------------------------------------
# Resource types


def test_resource_models_are_registered_only_while_installed() -> None:
    def registered() -> set[type[Any]]:
        model_map = parsing.get_model_map()
        return {model for model in MODELS if model_map.get(model.cloudformation_type()) is model}

    assert registered() == set()  # imported above, yet moto is as shipped
    with installed():
        assert registered() == set(MODELS)
    assert registered() == set()


def test_alarm_is_created_with_its_metric_and_actions(aws: None) -> None:
    topic = boto3.client("sns").create_topic(Name="paging")["TopicArn"]
    deploy(
        "Alarms",
        template(
            {
                "Errors": {
                    "Type": "AWS::CloudWatch::Alarm",
                    "Properties": {
                        "AlarmName": "staging-iris-5xx",
                        "Namespace": "AWS/SageMaker",
                        "MetricName": "Invocation5XXErrors",
                        "Dimensions": [{"Name": "EndpointName", "Value": "staging-iris"}],
                        "Statistic": "Sum",
                        "Period": 60,
                        "EvaluationPeriods": 2,
                        "Threshold": 1,
                        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                        "AlarmActions": [topic],
                    },
                }
            }
        ),
    )
    (alarm,) = boto3.client("cloudwatch").describe_alarms(AlarmNames=["staging-iris-5xx"])[
        "MetricAlarms"
    ]
    assert alarm["MetricName"] == "Invocation5XXErrors"
    assert alarm["AlarmActions"] == [topic]
    assert alarm["Dimensions"] == [{"Name": "EndpointName", "Value": "staging-iris"}]
    assert physical("Alarms", "Errors") == "staging-iris-5xx"


def test_scalable_target_and_policy_are_registered(aws: None) -> None:
    resource_id = "endpoint/staging-iris/variant/primary"
    deploy(
        "Scaling",
        template(
            {
                "Target": {
                    "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
                    "Properties": {
                        "ServiceNamespace": "sagemaker",
                        "ResourceId": resource_id,
                        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
                        "MinCapacity": 1,
                        "MaxCapacity": 4,
                    },
                },
                "Policy": {
                    "Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
                    "Properties": {
                        "PolicyName": "invocations",
                        "PolicyType": "TargetTrackingScaling",
                        "ScalingTargetId": {"Ref": "Target"},
                        "TargetTrackingScalingPolicyConfiguration": {
                            "TargetValue": 100.0,
                            "PredefinedMetricSpecification": {
                                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                            },
                        },
                    },
                },
            }
        ),
    )
    scaling = boto3.client("application-autoscaling")
    (target,) = scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert (target["ResourceId"], target["MinCapacity"], target["MaxCapacity"]) == (
        resource_id,
        1,
        4,
    )
    (policy,) = scaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    assert policy["PolicyName"] == "invocations"
    assert policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 100.0


def test_sns_subscription_and_topic_policy(aws: None) -> None:
    deploy(
        "Paging",
        template(
            {
                "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
                "Email": {
                    "Type": "AWS::SNS::Subscription",
                    "Properties": {
                        "TopicArn": {"Ref": "Topic"},
                        "Protocol": "email",
                        "Endpoint": "oncall@example.com",
                    },
                },
                "Policy": {
                    "Type": "AWS::SNS::TopicPolicy",
                    "Properties": {
                        "Topics": [{"Ref": "Topic"}],
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                    "Action": "sns:Publish",
                                    "Resource": {"Ref": "Topic"},
                                }
                            ],
                        },
                    },
                },
            }
        ),
    )
    sns = boto3.client("sns")
    topic = physical("Paging", "Topic")
    (subscription,) = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert subscription["Endpoint"] == "oncall@example.com"
    assert physical("Paging", "Email") == subscription["SubscriptionArn"]
    policy = json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
    assert policy["Statement"][0]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}


def test_explicit_sagemaker_names_are_used(aws: None) -> None:
    resources = sagemaker_resources()
    resources["Model"]["Properties"]["ModelName"] = "iris-model"
    resources["Config"]["Properties"]["EndpointConfigName"] = "iris-config"
    deploy("Named", template(resources))
    sagemaker = boto3.client("sagemaker")
    assert sagemaker.describe_model(ModelName="iris-model")["ModelName"] == "iris-model"
    endpoint = sagemaker.describe_endpoint(EndpointName="staging-iris")
    assert endpoint["EndpointConfigName"] == "iris-config"


def test_kms_key_with_cloudformation_tags(aws: None) -> None:
    deploy(
        "Keys",
        template(
            {
                "Key": {
                    "Type": "AWS::KMS::Key",
                    "Properties": {
                        "KeyPolicy": {"Version": "2012-10-17", "Statement": []},
                        "EnableKeyRotation": True,
                        "Tags": [{"Key": "environment", "Value": "staging"}],
                    },
                }
            }
        ),
    )
    tags = boto3.client("kms").list_resource_tags(KeyId=physical("Keys", "Key"))["Tags"]
    assert tags == [{"TagKey": "environment", "TagValue": "staging"}]


def test_model_registry_group_and_pipeline(aws: None) -> None:
    definition = {"Version": "2020-12-01", "Steps": []}
    deploy(
        "Training",
        template(
            {
                "Group": {
                    "Type": "AWS::SageMaker::ModelPackageGroup",
                    "Properties": {"ModelPackageGroupName": "staging-iris"},
                },
                "Pipeline": {
                    "Type": "AWS::SageMaker::Pipeline",
                    "Properties": {
                        "PipelineName": "staging-iris-training",
                        "RoleArn": ROLE,
                        "PipelineDefinition": {"PipelineDefinitionBody": json.dumps(definition)},
                    },
                },
            }
        ),
    )
    sagemaker = boto3.client("sagemaker")
    group = sagemaker.describe_model_package_group(ModelPackageGroupName="staging-iris")
    assert physical("Training", "Group") == group["ModelPackageGroupArn"]
    pipeline = sagemaker.describe_pipeline(PipelineName="staging-iris-training")
    assert json.loads(pipeline["PipelineDefinition"]) == definition


def test_bucket_policy_is_a_stack_resource_but_not_enforced(aws: None) -> None:
    deny_plain_http = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
    deploy(
        "Storage",
        template(
            {
                "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "artifacts"}},
                "Policy": {
                    "Type": "AWS::S3::BucketPolicy",
                    "Properties": {"Bucket": {"Ref": "Bucket"}, "PolicyDocument": deny_plain_http},
                },
            }
        ),
    )
    assert physical("Storage", "Policy") == "artifacts"
    boto3.client("s3").put_object(Bucket="artifacts", Key="k", Body=b"x")  # not denied


def lifecycle_resources(*, version: int) -> dict[str, Any]:
    """One resource of each declared type that a stack update can change."""
    return {
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "paging"}},
        "Email": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "TopicArn": {"Ref": "Topic"},
                "Protocol": "email",
                "Endpoint": f"oncall-{version}@example.com",
            },
        },
        "Errors": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": "staging-iris-5xx",
                "Namespace": "AWS/SageMaker",
                "MetricName": "Invocation5XXErrors",
                "Statistic": "Sum",
                "Period": 60,
                "EvaluationPeriods": 1,
                "Threshold": version,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "AlarmActions": [{"Ref": "Topic"}],
            },
        },
        "Target": {
            "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
            "Properties": {
                "ServiceNamespace": "sagemaker",
                "ResourceId": "endpoint/staging-iris/variant/primary",
                "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
                "MinCapacity": 1,
                "MaxCapacity": 4 * version,
            },
        },
        "Policy": {
            "Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
            "Properties": {
                "PolicyName": "invocations",
                "PolicyType": "TargetTrackingScaling",
                "ScalingTargetId": {"Ref": "Target"},
                "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 100.0},
            },
        },
        "Group": {
            "Type": "AWS::SageMaker::ModelPackageGroup",
            "Properties": {
                "ModelPackageGroupName": "staging-iris",
                "ModelPackageGroupDescription": f"version {version}",
            },
        },
        "Pipeline": {
            "Type": "AWS::SageMaker::Pipeline",
            "Properties": {
                "PipelineName": "staging-iris-training",
                "PipelineDescription": f"version {version}",
                "RoleArn": ROLE,
                "PipelineDefinition": {"PipelineDefinitionBody": '{"Steps": []}'},
            },
        },
    }


def test_updates_apply_in_place_or_replace_and_deleting_the_stack_deletes_all(aws: None) -> None:
    cloudwatch = boto3.client("cloudwatch")
    scaling = boto3.client("application-autoscaling")
    sagemaker = boto3.client("sagemaker")
    sns = boto3.client("sns")
    deploy("Lifecycle", template(lifecycle_resources(version=1)))
    first = {logical: physical("Lifecycle", logical) for logical in ("Email", "Group", "Pipeline")}

    stack = deploy("Lifecycle", template(lifecycle_resources(version=2)))
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    (alarm,) = cloudwatch.describe_alarms()["MetricAlarms"]
    assert alarm["Threshold"] == 2
    (target,) = scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert target["MaxCapacity"] == 8
    # The target changed in place, so the policy on it (unchanged in the template) stays.
    assert (
        len(scaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]) == 1
    )
    # A subscription's endpoint cannot change: it is replaced, the old one unsubscribed.
    topic = physical("Lifecycle", "Topic")
    (subscription,) = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert subscription["Endpoint"] == "oncall-2@example.com"
    assert physical("Lifecycle", "Email") != first["Email"]
    group = sagemaker.describe_model_package_group(ModelPackageGroupName="staging-iris")
    assert group["ModelPackageGroupDescription"] == "version 2"
    assert physical("Lifecycle", "Group") == first["Group"]
    pipeline = sagemaker.describe_pipeline(PipelineName="staging-iris-training")
    assert pipeline["PipelineDescription"] == "version 2"

    cfn().delete_stack(StackName="Lifecycle")
    assert cloudwatch.describe_alarms()["MetricAlarms"] == []
    assert scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    assert scaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []
    assert sns.list_subscriptions()["Subscriptions"] == []
    assert sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"] == []
    assert sagemaker.list_pipelines()["PipelineSummaries"] == []


def test_a_type_without_a_model_fails_the_deploy(aws: None) -> None:
    stack = deploy("Unknown", template({"Thing": {"Type": "AWS::Made::Up", "Properties": {}}}))
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = [e.get("ResourceStatusReason", "") for e in _events("Unknown")]
    assert any("no model for AWS::Made::Up" in reason for reason in reasons)


# --------------------------------------------------------------------------------------------
# Change sets


def test_stack_created_by_change_set_has_outputs_and_parameters(aws: None) -> None:
    stack = deploy(
        "Created",
        template(
            {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "t"}}},
            {"TopicArn": {"Value": {"Ref": "Topic"}}},
        ),
    )
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert [o["OutputKey"] for o in stack["Outputs"]] == ["TopicArn"]
    assert stack["Parameters"][0]["ParameterValue"] == "30"  # read from SSM


def test_update_reuses_previous_ssm_parameter_and_refreshes_outputs(aws: None) -> None:
    deploy("Updated", template({"A": {"Type": "AWS::SNS::Topic", "Properties": {}}}))
    stack = deploy(
        "Updated",
        template(
            {
                "A": {"Type": "AWS::SNS::Topic", "Properties": {}},
                "B": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "b"}},
            },
            {"B": {"Value": {"Fn::GetAtt": ["B", "TopicName"]}}},
        ),
    )
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert stack["Outputs"][0]["OutputValue"] == "b"


def test_deleting_a_missing_change_set_is_fine_and_describing_it_is_not_found(aws: None) -> None:
    deploy("Quiet", template({"A": {"Type": "AWS::SNS::Topic", "Properties": {}}}))
    cfn().delete_change_set(StackName="Quiet", ChangeSetName="cdk-deploy-change-set")
    with pytest.raises(ClientError) as raised:
        cfn().describe_change_set(StackName="Quiet", ChangeSetName="cdk-deploy-change-set")
    assert raised.value.response["Error"]["Code"] == "ChangeSetNotFound"


def test_change_sets_of_the_same_name_belong_to_their_stacks(aws: None) -> None:
    client = cfn()
    for stack in ("Staging-a", "Staging-b"):
        client.create_change_set(
            StackName=stack,
            ChangeSetName="cdk-deploy-change-set",
            ChangeSetType="CREATE",
            TemplateBody=template(
                {"T": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": stack}}}
            ),
        )
    for stack in ("Staging-b", "Staging-a"):
        described = client.describe_change_set(
            StackName=stack, ChangeSetName="cdk-deploy-change-set"
        )
        assert described["StackName"] == stack
        client.execute_change_set(StackName=stack, ChangeSetName="cdk-deploy-change-set")
    for stack in ("Staging-a", "Staging-b"):
        assert physical(stack, "T").endswith(f":{stack}")


def test_model_update_moves_the_endpoint_to_a_new_config(aws: None) -> None:
    deploy("Staging-iris", template(sagemaker_resources("s3://bucket/a.tar.gz")))
    sagemaker = boto3.client("sagemaker")
    before = sagemaker.describe_endpoint(EndpointName="staging-iris")
    stack = deploy("Staging-iris", template(sagemaker_resources("s3://bucket/b.tar.gz")))
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    after = sagemaker.describe_endpoint(EndpointName="staging-iris")
    assert after["EndpointConfigName"] != before["EndpointConfigName"]
    assert after["CreationTime"] == before["CreationTime"]  # updated in place, not replaced
    config = sagemaker.describe_endpoint_config(EndpointConfigName=after["EndpointConfigName"])
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["PrimaryContainer"]["ModelDataUrl"] == "s3://bucket/b.tar.gz"
    with pytest.raises(ClientError):
        sagemaker.describe_endpoint_config(EndpointConfigName=before["EndpointConfigName"])


def test_failed_update_rolls_back_and_reports_the_error(aws: None) -> None:
    deploy("Staging-iris", template(sagemaker_resources()))
    broken = sagemaker_resources()
    broken["Other"] = {
        "Type": "AWS::SageMaker::Endpoint",
        "Properties": {"EndpointConfigName": "does-not-exist"},
    }
    stack = deploy("Staging-iris", template(broken))
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    (failed,) = [e for e in _events("Staging-iris") if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed["LogicalResourceId"] == "Other"
    assert "Could not find endpoint configuration" in failed["ResourceStatusReason"]
    endpoint = boto3.client("sagemaker").describe_endpoint(EndpointName="staging-iris")
    assert endpoint["EndpointStatus"] == "InService"


def _events(stack: str) -> list[dict[str, Any]]:
    return list(cfn().describe_stack_events(StackName=stack)["StackEvents"])


# --------------------------------------------------------------------------------------------
# InvokeEndpoint


def test_invoke_endpoint_is_answered_by_the_deployed_archive(
    aws: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    started: list[FakeModelServer] = []

    def fake_start(archive: Path, environment: dict[str, str]) -> FakeModelServer:
        assert environment["SAGEMAKER_PROGRAM"] == "inference.py"
        started.append(FakeModelServer(archive))
        return started[-1]

    monkeypatch.setattr(model_servers, "start_model_server", fake_start)
    monkeypatch.setattr(model_servers, "_pool", model_servers.ServerPool(1, tmp_path))
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="bucket", Key="a.tar.gz", Body=b"a" * 7)
    s3.put_object(Bucket="bucket", Key="b.tar.gz", Body=b"b" * 9)
    client = boto3.client("sagemaker-runtime")

    def predict(body: dict[str, Any]) -> Any:
        response = client.invoke_endpoint(
            EndpointName="staging-iris", Body=json.dumps(body), ContentType="application/json"
        )
        return json.loads(response["Body"].read())["predictions"]

    deploy("Staging-iris", template(sagemaker_resources("s3://bucket/a.tar.gz")))
    assert predict({"x": 1}) == [7]
    deploy("Staging-iris", template(sagemaker_resources("s3://bucket/b.tar.gz")))
    assert predict({"x": 1}) == [9]
    assert started[0].stopped  # one server at a time: the old model's went first
    with pytest.raises(ClientError) as raised:
        predict({"bad": True})
    assert raised.value.response["Error"]["Code"] == "ModelError"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424
    model_servers.shutdown()
    assert started[1].stopped
