"""The emulator's data-quality job definition and monitoring schedule, in-process on moto.

Stock moto 5.2.5 has no CloudFormation model for either type (and no schedule API at all): the
stack completes with nothing created, so each test here fails without the resource models.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from ops.emulator.extensions.resources import MODELS
from ops.emulator.extensions.resources.monitoring import (
    CfnDataQualityJobDefinition,
    CfnMonitoringSchedule,
    monitoring_schedules,
)
from tests.emulator_support import REGION, ROLE, bootstrapped, cfn, deploy, physical, template

ACCOUNT = "123456789012"  # moto's default account
HOURLY = "cron(0 * ? * * *)"


@pytest.fixture
def aws(aws_credentials: None) -> Iterator[None]:
    with bootstrapped():
        yield


def monitoring(*, schedule: str = HOURLY, threshold_key: str = "c.json") -> dict[str, Any]:
    """The two resources as the stacks write them: a generated job definition name, read
    back from its ARN by the schedule."""
    return {
        "JobDefinition": {
            "Type": "AWS::SageMaker::DataQualityJobDefinition",
            "Properties": {
                "DataQualityAppSpecification": {
                    "ImageUri": "468650794304.dkr.ecr.eu-west-1.amazonaws.com/"
                    "sagemaker-model-monitor-analyzer",
                    "Environment": {"publish_cloudwatch_metrics": "Enabled"},
                },
                "DataQualityBaselineConfig": {
                    "ConstraintsResource": {"S3Uri": f"s3://assets/{threshold_key}"},
                    "StatisticsResource": {"S3Uri": "s3://assets/s.json"},
                },
                "DataQualityJobInput": {
                    "EndpointInput": {
                        "EndpointName": "prod-iris",
                        "LocalPath": "/opt/ml/processing/input/endpoint",
                    }
                },
                "DataQualityJobOutputConfig": {
                    "MonitoringOutputs": [
                        {
                            "S3Output": {
                                "LocalPath": "/opt/ml/processing/output",
                                "S3Uri": "s3://artifacts/monitoring/prod-iris/data-quality",
                            }
                        }
                    ]
                },
                "JobResources": {
                    "ClusterConfig": {
                        "InstanceCount": 1,
                        "InstanceType": "ml.m5.large",
                        "VolumeSizeInGB": 20,
                    }
                },
                "NetworkConfig": {"EnableNetworkIsolation": True},
                "RoleArn": ROLE,
            },
        },
        "Schedule": {
            "Type": "AWS::SageMaker::MonitoringSchedule",
            "Properties": {
                "MonitoringScheduleName": "prod-iris-dq",
                "EndpointName": "prod-iris",
                "MonitoringScheduleConfig": {
                    "MonitoringJobDefinitionName": {
                        "Fn::Select": [
                            1,
                            {
                                "Fn::Split": [
                                    "/",
                                    {"Fn::GetAtt": ["JobDefinition", "JobDefinitionArn"]},
                                ]
                            },
                        ]
                    },
                    "MonitoringType": "DataQuality",
                    "ScheduleConfig": {"ScheduleExpression": schedule},
                },
            },
        },
    }


def test_both_types_are_registered_models() -> None:
    assert CfnDataQualityJobDefinition in MODELS and CfnMonitoringSchedule in MODELS


def test_the_schedule_runs_the_generated_job_definition(aws: None) -> None:
    stack = deploy("Monitoring", template(monitoring()))
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    definition_arn = physical("Monitoring", "JobDefinition")
    name = definition_arn.rsplit("/", 1)[-1]
    described = boto3.client("sagemaker", region_name=REGION).describe_data_quality_job_definition(
        JobDefinitionName=name
    )
    assert described["DataQualityJobInput"]["EndpointInput"]["EndpointName"] == "prod-iris"
    assert len(name) <= 63 and name == name.lower()
    schedule = monitoring_schedules(ACCOUNT, REGION)["prod-iris-dq"]
    assert physical("Monitoring", "Schedule") == schedule.arn
    assert (schedule.job_definition_name, schedule.endpoint_name) == (name, "prod-iris")
    assert (schedule.schedule_expression, schedule.status) == (HOURLY, "Scheduled")


def test_a_new_baseline_replaces_the_definition_and_updates_the_schedule(aws: None) -> None:
    deploy("Monitoring", template(monitoring()))
    first = monitoring_schedules(ACCOUNT, REGION)["prod-iris-dq"]
    before = first.job_definition_name
    deploy("Monitoring", template(monitoring(schedule="cron(0 0 ? * * *)", threshold_key="d")))
    after = monitoring_schedules(ACCOUNT, REGION)["prod-iris-dq"]
    assert after is first  # updated in place
    assert after.schedule_expression == "cron(0 0 ? * * *)"
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    names = [
        d["MonitoringJobDefinitionName"]
        for d in sagemaker.list_data_quality_job_definitions()["JobDefinitionSummaries"]
    ]
    assert names == [after.job_definition_name] and before not in names  # replaced
    cfn().delete_stack(StackName="Monitoring")
    assert monitoring_schedules(ACCOUNT, REGION) == {}


def test_a_schedule_without_its_job_definition_fails_the_deploy(aws: None) -> None:
    resources = monitoring()
    resources["Schedule"]["Properties"]["MonitoringScheduleConfig"][
        "MonitoringJobDefinitionName"
    ] = "missing"
    del resources["JobDefinition"]
    stack = deploy("Monitoring", template(resources))
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    events = cfn().describe_stack_events(StackName="Monitoring")["StackEvents"]
    reasons = " ".join(e.get("ResourceStatusReason", "") for e in events)
    assert "MonitoringJobDefinitionName 'missing' does not exist" in reasons
