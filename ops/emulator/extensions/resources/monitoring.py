"""AWS::SageMaker::DataQualityJobDefinition and AWS::SageMaker::MonitoringSchedule.

moto 5.2.5 has a data-quality job definition API (CreateDataQualityJobDefinition and the rest)
but no CloudFormation model for it, and neither an API nor a model for monitoring schedules. A
stack with drift monitoring declares one of each per endpoint.

What the resource types' documentation says, and what is followed here:
- aws-resource-sagemaker-dataqualityjobdefinition: `Ref` returns the job definition's ARN;
  `Fn::GetAtt JobDefinitionArn` the ARN and `CreationTime` its creation time. Every property
  requires replacement. `JobDefinitionName` is optional; when a template leaves it out,
  CloudFormation names the definition (the pattern is `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`).
- aws-resource-sagemaker-monitoringschedule: `Ref` returns the schedule's ARN; `Fn::GetAtt`
  gives `MonitoringScheduleArn`, `CreationTime` and `LastModifiedTime`. The name replaces;
  the schedule's config and endpoint change in place (UpdateMonitoringSchedule).
- API_CreateMonitoringSchedule: the schedule names a job definition
  (`MonitoringJobDefinitionName`) of its `MonitoringType`, which must exist.

What the pages leave open, and what is chosen: a generated job definition name is
`<stack>-<logical id>` cut to 52 characters plus a 10-character suffix, lower-cased to the
pattern; a schedule whose job definition does not exist fails the deploy with the reason,
as the API would refuse it; the endpoint is not checked (the API reference does not say it
is). Schedules are "Scheduled" once created. Nothing runs them: the local drift check
(`python -m ops drift`) reads them from `monitoring_schedules` and plays one execution.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from moto.core.utils import utcnow
from moto.sagemaker import models as sm
from moto.sagemaker.exceptions import ValidationError

from ops.emulator.extensions.resources.base import ProjectResource, Props

_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_STORE_ATTRIBUTE = "project_monitoring_schedules"
DATA_QUALITY = "DataQuality"


def monitoring_schedules(account_id: str, region_name: str) -> dict[str, CfnMonitoringSchedule]:
    """The account's monitoring schedules in `region_name`, by name."""
    backend = sm.sagemaker_backends[account_id][region_name]
    schedules: dict[str, CfnMonitoringSchedule] = backend.__dict__.setdefault(_STORE_ATTRIBUTE, {})
    return schedules


def _generated_name(name: str) -> str:
    """A name within the API's pattern for one CloudFormation made up (see module docstring)."""
    plain = re.sub(r"[^a-zA-Z0-9]+", "-", name).strip("-").lower()
    suffix = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{plain[:52].rstrip('-')}-{suffix}"


@dataclass(eq=False)
class CfnDataQualityJobDefinition(ProjectResource):
    """A data-quality job definition on moto's own backend; `Ref` gives its ARN."""

    resource_type = "AWS::SageMaker::DataQualityJobDefinition"
    name_property = "JobDefinitionName"
    physical_id = "arn"
    attributes: ClassVar = {"JobDefinitionArn": "arn", "CreationTime": "created"}

    name: str
    arn: str
    created: str

    @classmethod
    def create(cls, *, name: str, props: Props, account_id: str, region_name: str) -> Self:
        if not props.get("JobDefinitionName"):
            name = _generated_name(name)
        if not _NAME.match(name):
            raise ValidationError(message=f"JobDefinitionName '{name}' is not a valid name")
        backend = sm.sagemaker_backends[account_id][region_name]
        answer = backend.create_data_quality_job_definition(
            account_id=account_id,
            job_definition_name=name,
            tags=props.get("Tags", []),
            role_arn=props.get("RoleArn", ""),
            job_resources=props.get("JobResources"),
            stopping_condition=props.get("StoppingCondition"),
            environment=props.get("DataQualityAppSpecification", {}).get("Environment"),
            network_config=props.get("NetworkConfig"),
            data_quality_baseline_config=props.get("DataQualityBaselineConfig"),
            data_quality_app_specification=props.get("DataQualityAppSpecification"),
            data_quality_job_input=props.get("DataQualityJobInput"),
            data_quality_job_output_config=props.get("DataQualityJobOutputConfig"),
        )
        return cls(name, answer["JobDefinitionArn"], utcnow().isoformat())

    def delete(self, account_id: str, region_name: str) -> None:
        backend = sm.sagemaker_backends[account_id][region_name]
        backend.data_quality_job_definitions.pop(self.name, None)


@dataclass(eq=False)
class CfnMonitoringSchedule(ProjectResource):
    """A monitoring schedule on an endpoint; `Ref` gives its ARN."""

    resource_type = "AWS::SageMaker::MonitoringSchedule"
    name_property = "MonitoringScheduleName"
    physical_id = "arn"
    attributes: ClassVar = {
        "MonitoringScheduleArn": "arn",
        "CreationTime": "created",
        "LastModifiedTime": "modified",
    }

    name: str
    arn: str
    endpoint_name: str
    job_definition_name: str
    monitoring_type: str
    schedule_expression: str
    created: str
    modified: str
    status: str = "Scheduled"
    tags: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def create(cls, *, name: str, props: Props, account_id: str, region_name: str) -> Self:
        settings = _checked(name, props, account_id, region_name)
        now = utcnow().isoformat()
        arn = f"arn:aws:sagemaker:{region_name}:{account_id}:monitoring-schedule/{name.lower()}"
        schedule = cls(name=name, arn=arn, created=now, modified=now, **settings)
        monitoring_schedules(account_id, region_name)[name] = schedule
        return schedule

    def update(self, *, name: str, props: Props, account_id: str, region_name: str) -> Self:
        """UpdateMonitoringSchedule changes the config in place; a new name replaces it."""
        if name != self.name:
            return super().update(
                name=name, props=props, account_id=account_id, region_name=region_name
            )
        for key, value in _checked(name, props, account_id, region_name).items():
            setattr(self, key, value)
        self.modified = utcnow().isoformat()
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        monitoring_schedules(account_id, region_name).pop(self.name, None)


def _checked(name: str, props: Props, account_id: str, region_name: str) -> dict[str, Any]:
    """The schedule's settings from the template, refused as CreateMonitoringSchedule would."""
    config = props.get("MonitoringScheduleConfig") or {}
    definition = str(config.get("MonitoringJobDefinitionName", ""))
    kind = str(config.get("MonitoringType", ""))
    expression = str((config.get("ScheduleConfig") or {}).get("ScheduleExpression", ""))
    problems = []
    if not _NAME.match(name):
        problems.append(f"MonitoringScheduleName '{name}' is not a valid name")
    backend = sm.sagemaker_backends[account_id][region_name]
    if kind == DATA_QUALITY and definition not in backend.data_quality_job_definitions:
        problems.append(f"MonitoringJobDefinitionName '{definition}' does not exist")
    elif kind != DATA_QUALITY:
        problems.append(f"MonitoringType '{kind}' is not supported here (only {DATA_QUALITY})")
    if not expression.startswith("cron("):
        problems.append(f"ScheduleExpression '{expression}' is not a cron expression")
    if problems:
        raise ValidationError(message="; ".join(problems))
    return {
        "endpoint_name": str(props.get("EndpointName", "")),
        "job_definition_name": definition,
        "monitoring_type": kind,
        "schedule_expression": expression,
        "tags": list(props.get("Tags", [])),
    }
