"""SageMaker types: the model registry group and training pipeline, which moto 5.2.5's
CloudFormation engine skips; explicit names on Model, EndpointConfig and Endpoint, which it
ignores; and an Endpoint that is updated in place, as SageMaker's UpdateEndpoint does."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from moto.core.utils import utcnow
from moto.sagemaker import models as sm

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
        return cls(name, arn)

    def update(self, *, name: str, props: Props, account_id: str, region_name: str) -> Self:
        """The description changes in place; a new name replaces the group."""
        if name != self.name:
            return super().update(
                name=name, props=props, account_id=account_id, region_name=region_name
            )
        group = sm.sagemaker_backends[account_id][region_name].model_package_groups[self.name]
        group.model_package_group_description = props.get("ModelPackageGroupDescription", "")
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        sm.sagemaker_backends[account_id][region_name].model_package_groups.pop(self.name, None)


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
    """AWS::SageMaker::Model that honours `ModelName`."""

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ModelName"


class NamedEndpointConfig(sm.FakeEndpointConfig):
    """AWS::SageMaker::EndpointConfig that honours `EndpointConfigName`."""

    @staticmethod
    def cloudformation_name_type() -> str:
        return "EndpointConfigName"


class NamedEndpoint(sm.FakeEndpoint):
    """AWS::SageMaker::Endpoint that honours `EndpointName` and, like SageMaker's
    UpdateEndpoint, moves the existing endpoint to a new EndpointConfig instead of deleting
    and recreating it."""

    @staticmethod
    def cloudformation_name_type() -> str:
        return "EndpointName"

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
        config_name = cloudformation_json["Properties"]["EndpointConfigName"]
        config = backend.describe_endpoint_config(config_name)
        endpoint = backend.endpoints[original_resource.endpoint_name]
        endpoint.endpoint_config_name = config_name
        endpoint.production_variants = endpoint._process_production_variants(
            config["ProductionVariants"]
        )
        endpoint.data_capture_config = config["DataCaptureConfig"]
        endpoint.last_modified_time = utcnow()
        return endpoint
