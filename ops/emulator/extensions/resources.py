"""CloudFormation resource types the stacks use and moto 5.2.5 skips or gets wrong.

Each class is a moto `CloudFormationModel` registered in moto's own type map, so the stock
engine creates, updates and deletes the resource through the service backend, where the API
(DescribeAlarms, DescribeScalableTargets, ListSubscriptionsByTopic, DescribeEndpoint) shows it.
Without these, moto logs "No Moto CloudFormation support", marks the resource complete and
creates nothing, or (SageMaker) ignores the explicit name in the template.
"""

from __future__ import annotations

import json
from typing import Any

from moto.applicationautoscaling.models import applicationautoscaling_backends
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.cloudwatch.models import (
    Dimension,
    Metric,
    MetricDataQuery,
    MetricStat,
    cloudwatch_backends,
)
from moto.core.common_models import CloudFormationModel
from moto.core.utils import utcnow
from moto.kms import models as kms
from moto.s3.models import s3_backends
from moto.sagemaker import models as sm
from moto.sns.models import sns_backends
from moto.utilities.utils import get_partition


class ProjectModel(CloudFormationModel):
    """Base of the models below. They are registered only through `MODELS` (see
    `extensions.installed`), never through `CloudFormationModel.__subclasses__()`, so that
    importing this module changes nothing in moto until the extensions are installed."""

    @staticmethod
    def cloudformation_type() -> str:
        return ""


def _bool(value: Any, default: bool) -> bool:
    if value is None:
        return default
    return str(value).lower() == "true"


# --------------------------------------------------------------------------------------------
# CloudWatch


class CfnAlarm(ProjectModel):
    """AWS::CloudWatch::Alarm: a metric alarm (single metric or metric math)."""

    def __init__(self, name: str, arn: str) -> None:
        self.name = name
        self.arn = arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Arn":
            return self.arn
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CfnAlarm:
        props = cloudformation_json["Properties"]
        alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=resource_name,
            namespace=props.get("Namespace"),
            metric_name=props.get("MetricName"),
            metric_data_queries=_queries(props.get("Metrics")),
            comparison_operator=props["ComparisonOperator"],
            evaluation_periods=int(props["EvaluationPeriods"]),
            datapoints_to_alarm=_int(props.get("DatapointsToAlarm")),
            period=_int(props.get("Period")),  # type: ignore[arg-type]
            threshold=float(props["Threshold"]) if "Threshold" in props else None,  # type: ignore[arg-type]
            statistic=props.get("Statistic"),
            extended_statistic=props.get("ExtendedStatistic"),
            description=props.get("AlarmDescription"),
            dimensions=props.get("Dimensions", []),
            alarm_actions=props.get("AlarmActions", []),
            ok_actions=props.get("OKActions", []),
            insufficient_data_actions=props.get("InsufficientDataActions", []),
            unit=props.get("Unit"),
            actions_enabled=_bool(props.get("ActionsEnabled"), True),
            treat_missing_data=props.get("TreatMissingData"),
            evaluate_low_sample_count_percentile=props.get("EvaluateLowSampleCountPercentile"),
            threshold_metric_id=props.get("ThresholdMetricId"),
            tags=props.get("Tags", []),
        )
        return cls(alarm.name, alarm.alarm_arn)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: CfnAlarm,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> CfnAlarm:
        if new_resource_name != original_resource.name:
            original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    def delete(self, account_id: str, region_name: str) -> None:
        cloudwatch_backends[account_id][region_name].delete_alarms([self.name])


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _queries(metrics: list[dict[str, Any]] | None) -> list[MetricDataQuery] | None:
    if not metrics:
        return None
    queries = []
    for query in metrics:
        stat = query.get("MetricStat")
        metric_stat = None
        if stat:
            metric = stat["Metric"]
            metric_stat = MetricStat(
                metric=Metric(
                    metric_name=metric.get("MetricName"),
                    namespace=metric.get("Namespace"),
                    dimensions=[
                        Dimension(name=d["Name"], value=d["Value"])
                        for d in metric.get("Dimensions", [])
                    ],
                ),
                period=stat.get("Period"),
                stat=stat.get("Stat"),
                unit=stat.get("Unit"),
            )
        queries.append(
            MetricDataQuery(
                query_id=query["Id"],
                label=query.get("Label"),  # type: ignore[arg-type]
                period=query.get("Period"),  # type: ignore[arg-type]
                return_data=query.get("ReturnData"),  # type: ignore[arg-type]
                expression=query.get("Expression"),
                metric_stat=metric_stat,
            )
        )
    return queries


# --------------------------------------------------------------------------------------------
# Application Auto Scaling


class CfnScalableTarget(ProjectModel):
    """AWS::ApplicationAutoScaling::ScalableTarget (Ref: `<resource id>|<dimension>|<ns>`)."""

    def __init__(self, namespace: str, resource_id: str, dimension: str) -> None:
        self.namespace = namespace
        self.resource_id = resource_id
        self.dimension = dimension

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApplicationAutoScaling::ScalableTarget"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @property
    def physical_resource_id(self) -> str:
        return f"{self.resource_id}|{self.dimension}|{self.namespace}"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CfnScalableTarget:
        props = cloudformation_json["Properties"]
        suspended = props.get("SuspendedState")
        target = applicationautoscaling_backends[account_id][region_name].register_scalable_target(
            namespace=props["ServiceNamespace"],
            r_id=props["ResourceId"],
            dimension=props["ScalableDimension"],
            min_capacity=int(props["MinCapacity"]),
            max_capacity=int(props["MaxCapacity"]),
            role_arn=props.get("RoleARN", ""),
            suspended_state=suspended,
        )
        return cls(target.service_namespace, target.resource_id, target.scalable_dimension)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: CfnScalableTarget,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> CfnScalableTarget:
        props = cloudformation_json["Properties"]
        if (props["ResourceId"], props["ScalableDimension"]) != (
            original_resource.resource_id,
            original_resource.dimension,
        ):
            original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    def delete(self, account_id: str, region_name: str) -> None:
        backend = applicationautoscaling_backends[account_id][region_name]
        for key, policy in list(backend.policies.items()):
            if (policy.resource_id, policy.scalable_dimension) == (
                self.resource_id,
                self.dimension,
            ):
                backend.delete_scaling_policy(
                    policy.policy_name, self.namespace, self.resource_id, self.dimension
                )
                backend.policies.pop(key, None)
        backend.deregister_scalable_target(self.namespace, self.resource_id, self.dimension)


class CfnScalingPolicy(ProjectModel):
    """AWS::ApplicationAutoScaling::ScalingPolicy, on a target given by id or by its parts."""

    def __init__(self, arn: str, name: str, namespace: str, resource_id: str, dimension: str):
        self.arn = arn
        self.name = name
        self.namespace = namespace
        self.resource_id = resource_id
        self.dimension = dimension

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApplicationAutoScaling::ScalingPolicy"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "PolicyName"

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Arn":
            return self.arn
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CfnScalingPolicy:
        props = cloudformation_json["Properties"]
        if props.get("ScalingTargetId"):
            resource_id, dimension, namespace = str(props["ScalingTargetId"]).split("|")
        else:
            namespace = props["ServiceNamespace"]
            resource_id = props["ResourceId"]
            dimension = props["ScalableDimension"]
        policy_type = props["PolicyType"]
        body = props.get("TargetTrackingScalingPolicyConfiguration") or props.get(
            "StepScalingPolicyConfiguration"
        )
        policy = applicationautoscaling_backends[account_id][region_name].put_scaling_policy(
            policy_name=resource_name,
            service_namespace=namespace,
            resource_id=resource_id,
            scalable_dimension=dimension,
            policy_body=body,
            policy_type=policy_type,
        )
        return cls(policy.policy_arn, resource_name, namespace, resource_id, dimension)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: CfnScalingPolicy,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> CfnScalingPolicy:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    def delete(self, account_id: str, region_name: str) -> None:
        backend = applicationautoscaling_backends[account_id][region_name]
        try:
            backend.delete_scaling_policy(
                self.name, self.namespace, self.resource_id, self.dimension
            )
        except Exception:  # already gone with its scalable target
            return


# --------------------------------------------------------------------------------------------
# SNS


class CfnSubscription(ProjectModel):
    """AWS::SNS::Subscription (Ref: the subscription ARN)."""

    def __init__(self, arn: str) -> None:
        self.arn = arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::Subscription"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CfnSubscription:
        props = cloudformation_json["Properties"]
        backend = sns_backends[account_id][region_name]
        subscription = backend.subscribe(props["TopicArn"], props["Endpoint"], props["Protocol"])
        for key in ("FilterPolicy", "RawMessageDelivery", "RedrivePolicy", "FilterPolicyScope"):
            if key in props:
                value = props[key]
                text = value if isinstance(value, str) else json.dumps(value)
                if key == "RawMessageDelivery":
                    text = str(value).lower()
                backend.set_subscription_attributes(subscription.arn, key, text)
        return cls(subscription.arn)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: CfnSubscription,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> CfnSubscription:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    def delete(self, account_id: str, region_name: str) -> None:
        sns_backends[account_id][region_name].unsubscribe(self.arn)


class CfnTopicPolicy(ProjectModel):
    """AWS::SNS::TopicPolicy: sets the policy document on each listed topic."""

    def __init__(self, topics: list[str], name: str) -> None:
        self.topics = topics
        self.name = name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::TopicPolicy"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CfnTopicPolicy:
        props = cloudformation_json["Properties"]
        backend = sns_backends[account_id][region_name]
        document = json.dumps(props["PolicyDocument"])
        for topic_arn in props["Topics"]:
            backend.get_topic(topic_arn).policy = document
        return cls(list(props["Topics"]), resource_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: CfnTopicPolicy,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> CfnTopicPolicy:
        return cls.create_from_cloudformation_json(
            original_resource.name, cloudformation_json, account_id, region_name
        )


# --------------------------------------------------------------------------------------------
# S3


class CfnBucketPolicy(ProjectModel):
    """AWS::S3::BucketPolicy, recorded as a stack resource but not put on the bucket.

    moto enforces bucket policies without their conditions, so the usual "deny unless
    aws:SecureTransport" statement would deny every request to the plain-HTTP emulator.
    Policies are IAM evaluation, which this emulator does not claim to show.
    """

    def __init__(self, bucket: str, document: Any) -> None:
        self.bucket = bucket
        self.document = document

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::BucketPolicy"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @property
    def physical_resource_id(self) -> str:
        return self.bucket

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CfnBucketPolicy:
        props = cloudformation_json["Properties"]
        # The bucket must exist, as CloudFormation requires.
        s3_backends[account_id][get_partition(region_name)].get_bucket(props["Bucket"])
        return cls(props["Bucket"], props["PolicyDocument"])

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: CfnBucketPolicy,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> CfnBucketPolicy:
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    def delete(self, account_id: str, region_name: str) -> None:
        return


# --------------------------------------------------------------------------------------------
# KMS


class TaggedKey(kms.Key):
    """AWS::KMS::Key whose template `Tags` ({Key, Value}, as CloudFormation writes them) are
    passed to KMS as {TagKey, TagValue}; moto's own model fails on them with KeyError 'TagKey'."""

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> kms.Key:
        props = dict(cloudformation_json["Properties"])
        props["Tags"] = [
            {"TagKey": tag["Key"], "TagValue": tag["Value"]} for tag in props.get("Tags", [])
        ]
        key = super().create_from_cloudformation_json(
            resource_name, {**cloudformation_json, "Properties": props}, account_id, region_name
        )
        return key

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: kms.Key,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> kms.Key:
        """Key policy, description, rotation and enabled state change in place, as in KMS."""
        props = cloudformation_json["Properties"]
        original_resource.policy = (
            props["KeyPolicy"]
            if isinstance(props["KeyPolicy"], str)
            else json.dumps(props["KeyPolicy"])
        )
        original_resource.description = props.get("Description", "")
        original_resource.key_rotation_status = _bool(props.get("EnableKeyRotation"), False)
        original_resource.enabled = _bool(props.get("Enabled"), True)
        return original_resource


# --------------------------------------------------------------------------------------------
# SageMaker: explicit names, and an Endpoint that is updated in place.


class CfnModelPackageGroup(ProjectModel):
    """AWS::SageMaker::ModelPackageGroup (Ref: its ARN), the model registry group."""

    def __init__(self, name: str, arn: str) -> None:
        self.name = name
        self.arn = arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SageMaker::ModelPackageGroup"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ModelPackageGroupName"

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("ModelPackageGroupArn", "ModelPackageGroupName")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "ModelPackageGroupArn":
            return self.arn
        if attribute_name == "ModelPackageGroupName":
            return self.name
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CfnModelPackageGroup:
        props = cloudformation_json["Properties"]
        arn = sm.sagemaker_backends[account_id][region_name].create_model_package_group(
            model_package_group_name=resource_name,
            model_package_group_description=props.get("ModelPackageGroupDescription", ""),
            tags=props.get("Tags", []),
        )
        return cls(resource_name, arn)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: CfnModelPackageGroup,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> CfnModelPackageGroup:
        backend = sm.sagemaker_backends[account_id][region_name]
        if new_resource_name != original_resource.name:
            original_resource.delete(account_id, region_name)
            return cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name
            )
        group = backend.model_package_groups[original_resource.name]
        group.model_package_group_description = cloudformation_json["Properties"].get(
            "ModelPackageGroupDescription", ""
        )
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        sm.sagemaker_backends[account_id][region_name].model_package_groups.pop(self.name, None)


class CfnPipeline(ProjectModel):
    """AWS::SageMaker::Pipeline (Ref: its name); the definition is stored, not run."""

    def __init__(self, name: str, arn: str) -> None:
        self.name = name
        self.arn = arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SageMaker::Pipeline"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "PipelineName"

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "PipelineName"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "PipelineName":
            return self.name
        raise UnformattedGetAttTemplateException()

    @staticmethod
    def _arguments(props: dict[str, Any]) -> dict[str, Any]:
        definition = props["PipelineDefinition"]
        body = definition.get("PipelineDefinitionBody")
        s3_location = definition.get("PipelineDefinitionS3Location")
        return {
            "pipeline_display_name": props.get("PipelineDisplayName", props["PipelineName"]),
            "pipeline_definition": body
            if isinstance(body, str) or body is None
            else json.dumps(body),
            "pipeline_definition_s3_location": s3_location,
            "pipeline_description": props.get("PipelineDescription", ""),
            "role_arn": props["RoleArn"],
            "parallelism_configuration": props.get("ParallelismConfiguration"),
        }

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CfnPipeline:
        props = cloudformation_json["Properties"]
        pipeline = sm.sagemaker_backends[account_id][region_name].create_pipeline(
            pipeline_name=resource_name, tags=props.get("Tags", []), **cls._arguments(props)
        )
        return cls(resource_name, pipeline.arn)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: CfnPipeline,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> CfnPipeline:
        if new_resource_name != original_resource.name:
            original_resource.delete(account_id, region_name)
            return cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name
            )
        arguments = cls._arguments(cloudformation_json["Properties"])
        sm.sagemaker_backends[account_id][region_name].update_pipeline(
            original_resource.name, **arguments
        )
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        backend = sm.sagemaker_backends[account_id][region_name]
        if self.name in backend.pipelines:
            backend.delete_pipeline(self.name)


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
        props = cloudformation_json["Properties"]
        config_name = props["EndpointConfigName"]
        config = backend.describe_endpoint_config(config_name)
        endpoint = backend.endpoints[original_resource.endpoint_name]
        endpoint.endpoint_config_name = config_name
        endpoint.production_variants = endpoint._process_production_variants(
            config["ProductionVariants"]
        )
        endpoint.data_capture_config = config["DataCaptureConfig"]
        endpoint.last_modified_time = utcnow()
        return endpoint


MODELS: tuple[type[CloudFormationModel], ...] = (
    CfnAlarm,
    CfnScalableTarget,
    CfnScalingPolicy,
    CfnSubscription,
    CfnTopicPolicy,
    CfnBucketPolicy,
    TaggedKey,
    CfnModelPackageGroup,
    CfnPipeline,
    NamedModel,
    NamedEndpointConfig,
    NamedEndpoint,
)
