"""SageMaker types: the model registry group and training pipeline, which moto 5.2.5's
CloudFormation engine skips; explicit names on Model, EndpointConfig and Endpoint, which it
ignores; Models and EndpointConfigs replaced in CloudFormation's order (the old one stays until
the stack update is done); and an Endpoint that is updated in place, as SageMaker's
UpdateEndpoint does, through the deployment guardrails when it has a `DeploymentConfig`."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any, ClassVar, Self, cast

from moto.core.utils import utcnow
from moto.sagemaker import models as sm
from moto.sagemaker.exceptions import ValidationError

from ops.emulator import guardrails
from ops.emulator.clock import emulator_clock
from ops.emulator.extensions import operations, runtime
from ops.emulator.extensions.registry_policy import POLICY_ATTRIBUTE
from ops.emulator.extensions.resources.base import ProjectResource, Props


@dataclass(eq=False)
class CfnModelPackageGroup(ProjectResource):
    """The model registry group; `Ref` gives its ARN."""

    resource_type = "AWS::SageMaker::ModelPackageGroup"
    name_property = "ModelPackageGroupName"
    physical_id = "arn"
    attributes: ClassVar = {"ModelPackageGroupArn": "arn", "ModelPackageGroupName": "name"}

    name: str
    arn: str

    @classmethod
    def create(cls, *, name: str, props: Props, account_id: str, region_name: str) -> Self:
        arn = sm.sagemaker_backends[account_id][region_name].create_model_package_group(
            model_package_group_name=name,
            model_package_group_description=props.get("ModelPackageGroupDescription", ""),
            tags=props.get("Tags", []),
        )
        group = sm.sagemaker_backends[account_id][region_name].model_package_groups[name]
        _set_policy(group, props)
        return cls(name, arn)

    def update(self, *, name: str, props: Props, account_id: str, region_name: str) -> Self:
        """The description and the resource policy change in place; a new name replaces the
        group."""
        if name != self.name:
            return super().update(
                name=name, props=props, account_id=account_id, region_name=region_name
            )
        group = sm.sagemaker_backends[account_id][region_name].model_package_groups[self.name]
        group.model_package_group_description = props.get("ModelPackageGroupDescription", "")
        _set_policy(group, props)
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        sm.sagemaker_backends[account_id][region_name].model_package_groups.pop(self.name, None)


def _set_policy(group: Any, props: Props) -> None:
    """`ModelPackageGroupPolicy` (a JSON object in the template) as GetModelPackageGroupPolicy
    serves it (`extensions.registry_policy`); none removes it."""
    policy = props.get("ModelPackageGroupPolicy")
    if policy is None:
        if hasattr(group, POLICY_ATTRIBUTE):
            delattr(group, POLICY_ATTRIBUTE)
        return
    setattr(group, POLICY_ATTRIBUTE, policy if isinstance(policy, str) else json.dumps(policy))


@dataclass(eq=False)
class CfnPipeline(ProjectResource):
    """A SageMaker pipeline; `Ref` gives its name. The definition is stored, not run."""

    resource_type = "AWS::SageMaker::Pipeline"
    name_property = "PipelineName"
    physical_id = "name"
    attributes: ClassVar = {"PipelineName": "name"}

    name: str
    arn: str

    @classmethod
    def create(cls, *, name: str, props: Props, account_id: str, region_name: str) -> Self:
        pipeline = sm.sagemaker_backends[account_id][region_name].create_pipeline(
            pipeline_name=name, tags=props.get("Tags", []), **_pipeline_arguments(props)
        )
        return cls(name, pipeline.arn)

    def update(self, *, name: str, props: Props, account_id: str, region_name: str) -> Self:
        """UpdatePipeline changes it in place; a new name replaces the pipeline."""
        if name != self.name:
            return super().update(
                name=name, props=props, account_id=account_id, region_name=region_name
            )
        sm.sagemaker_backends[account_id][region_name].update_pipeline(
            self.name, **_pipeline_arguments(props)
        )
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        backend = sm.sagemaker_backends[account_id][region_name]
        if self.name in backend.pipelines:
            backend.delete_pipeline(self.name)


def _pipeline_arguments(props: Props) -> dict[str, Any]:
    """What CreatePipeline and UpdatePipeline both take, from the template's properties."""
    definition = props["PipelineDefinition"]
    body = definition.get("PipelineDefinitionBody")
    return {
        "pipeline_display_name": props.get("PipelineDisplayName", props["PipelineName"]),
        "pipeline_definition": body if isinstance(body, str) or body is None else json.dumps(body),
        "pipeline_definition_s3_location": definition.get("PipelineDefinitionS3Location"),
        "pipeline_description": props.get("PipelineDescription", ""),
        "role_arn": props["RoleArn"],
        "parallelism_configuration": props.get("ParallelismConfiguration"),
    }


# moto's own models below, each with the one thing it gets wrong put right.


class NamedModel(sm.Model):
    """AWS::SageMaker::Model that honours `ModelName`; a replacement is created before the old
    model is deleted (`ops.emulator.extensions.cloudformation`)."""

    replaced_after_update: ClassVar[bool] = True

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ModelName"

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: sm.Model,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> sm.Model:
        if new_resource_name == original_resource.model_name:  # a custom name: moto's way
            return super().update_from_cloudformation_json(
                original_resource, new_resource_name, cloudformation_json, account_id, region_name
            )
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def remove(cls, resource: sm.Model, account_id: str, region_name: str) -> None:
        with contextlib.suppress(ValidationError):
            sm.sagemaker_backends[account_id][region_name].delete_model(resource.model_name)


class NamedEndpointConfig(sm.FakeEndpointConfig):
    """AWS::SageMaker::EndpointConfig that honours `EndpointConfigName`; a replacement is
    created before the old config is deleted, which the endpoint uses until its update is done
    ("You must not delete an EndpointConfig in use by an endpoint that is live or while the
    UpdateEndpoint or CreateEndpoint operations are being performed", API_UpdateEndpoint)."""

    replaced_after_update: ClassVar[bool] = True

    @staticmethod
    def cloudformation_name_type() -> str:
        return "EndpointConfigName"

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: sm.FakeEndpointConfig,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> sm.FakeEndpointConfig:
        if new_resource_name == original_resource.endpoint_config_name:
            return super().update_from_cloudformation_json(
                original_resource, new_resource_name, cloudformation_json, account_id, region_name
            )
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def remove(cls, resource: sm.FakeEndpointConfig, account_id: str, region_name: str) -> None:
        backend = sm.sagemaker_backends[account_id][region_name]
        with contextlib.suppress(ValidationError):
            backend.delete_endpoint_config(resource.endpoint_config_name)


class EndpointUpdateRolledBack(Exception):
    """The endpoint's update failed and SageMaker rolled it back: the resource's update fails."""


class NamedEndpoint(sm.FakeEndpoint):
    """AWS::SageMaker::Endpoint that honours `EndpointName` and, like SageMaker's
    UpdateEndpoint, moves the existing endpoint to a new EndpointConfig instead of deleting
    and recreating it.

    With a `DeploymentConfig`, the move is SageMaker's guarded deployment
    (`ops.emulator.guardrails`): the stack update waits while it bakes (`operations.wait_long`,
    so ExecuteChangeSet answers and the stack shows UPDATE_IN_PROGRESS meanwhile), and the
    engine, not this class, changes `EndpointConfigName`.

    What CloudFormation reports when SageMaker rolls such an update back is not documented on
    any AWS page found (AWS::SageMaker::Endpoint's handler is not open source). The evidence:
    DescribeEndpoint's `FailureReason` is set "if the status of the endpoint is Failed, or the
    status is InService but update operation fails" (API_DescribeEndpoint), so SageMaker
    reports a rolled-back update as failed; CloudFormation fails a resource whose update fails
    to stabilise and rolls the stack back, as it does for the comparable service-side rollback
    of ECS's deployment circuit breaker (UPDATE_ROLLBACK_COMPLETE, aws/containers-roadmap#1205);
    and clients that only wait for InService miss the rollback entirely
    (hashicorp/terraform-provider-aws#39099, #46663, #48997). The emulator therefore reports
    the Endpoint UPDATE_FAILED with the FailureReason and rolls the stack back to
    UPDATE_ROLLBACK_COMPLETE, so `cdk deploy` fails; `ops verify` names the fired alarms in
    that case and in the silent one (InService on the old config, stack UPDATE_COMPLETE).
    """

    @staticmethod
    def cloudformation_name_type() -> str:
        return "EndpointName"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> sm.FakeEndpoint:
        """CreateEndpoint, then its model loads in the background (`runtime.warm`): SageMaker
        starts the container when the endpoint is created, not at its first request."""
        endpoint = super().create_from_cloudformation_json(
            resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        runtime.warm(account_id, region_name, endpoint.endpoint_config_name)
        return endpoint

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: sm.FakeEndpoint,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> sm.FakeEndpoint:
        if new_resource_name != original_resource.endpoint_name:  # a rename replaces it
            return super().update_from_cloudformation_json(
                original_resource, new_resource_name, cloudformation_json, account_id, region_name
            )
        backend = sm.sagemaker_backends[account_id][region_name]
        props = cloudformation_json["Properties"]
        config_name = props["EndpointConfigName"]
        config = backend.describe_endpoint_config(config_name)
        endpoint = backend.endpoints[original_resource.endpoint_name]
        deployment_config = props.get("DeploymentConfig")
        if deployment_config and config_name != endpoint.endpoint_config_name:
            _deploy(endpoint, config, deployment_config, account_id, region_name)
        endpoint.endpoint_config_name = config_name
        endpoint.production_variants = endpoint._process_production_variants(
            config["ProductionVariants"]
        )
        endpoint.data_capture_config = config["DataCaptureConfig"]
        endpoint.last_modified_time = utcnow()
        return endpoint


def _deploy(
    endpoint: sm.FakeEndpoint,
    config: dict[str, Any],
    deployment_config: dict[str, Any],
    account_id: str,
    region_name: str,
) -> None:
    """Run SageMaker's guarded deployment to `config`; raise if it was rolled back."""
    clock = emulator_clock()
    variants = config["ProductionVariants"]
    deployment = guardrails.Deployment(
        # moto's endpoint has no deployment fields until the engine sets them
        endpoint=cast(guardrails.EndpointView, endpoint),
        old_config=endpoint.endpoint_config_name,
        new_config=config["EndpointConfigName"],
        deployment_config=deployment_config,
        new_instances=int(variants[0].get("InitialInstanceCount") or 1),
        clock=clock,
        alarm_states=guardrails.moto_alarm_states(account_id, region_name),
        provision=lambda: runtime.provision(account_id, region_name, config["EndpointConfigName"]),
        variants=list(variants),
    )
    guardrails.begin(account_id, region_name, endpoint.endpoint_name, deployment)
    limit = guardrails.execution_limit(deployment_config) / clock.scale + 60
    if not operations.wait_long(deployment.done, timeout=limit):
        deployment.stop.set()
        raise EndpointUpdateRolledBack(
            f"Endpoint {endpoint.endpoint_name}: the deployment did not end in {limit:.0f} s"
        )
    if deployment.outcome != "completed":
        raise EndpointUpdateRolledBack(
            f"Endpoint {endpoint.endpoint_name} is InService on {deployment.old_config}: "
            f"its update was rolled back. FailureReason: {endpoint.failure_reason}"
        )
