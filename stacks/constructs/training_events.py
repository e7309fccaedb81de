"""EventBridge around a training pipeline: an optional schedule, and pages when it fails."""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.constructs.training_pipeline import TrainingPipeline


class TrainingEvents(Construct):
    """Rules that start the pipeline on a schedule and page when it or its training fails.

    Two failure rules, both scoped to this pipeline's ARN: an execution that ends Failed, and a
    Training step that ends Failed (the training job failed, or was stopped past its limits).
    Both publish to the environment stack's paging topic.

    Args:
        pipeline: the training pipeline.
        topic: the paging topic; `key` encrypts it and EventBridge is allowed to use the key.
        schedule: an EventBridge schedule expression, or None for no schedule.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        pipeline: TrainingPipeline,
        topic: sns.ITopic,
        key: kms.IKey,
        schedule: str | None,
    ) -> None:
        super().__init__(scope, id_)
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgePublishesToPagingTopic",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
            )
        )
        page = targets.SnsTopic(topic)
        self.execution_failed = events.Rule(
            self,
            "ExecutionFailed",
            description=f"Pages when an execution of {pipeline.pipeline_name} fails.",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Model Building Pipeline Execution Status Change"],
                detail={
                    "pipelineArn": [pipeline.pipeline_arn],
                    "currentPipelineExecutionStatus": ["Failed"],
                },
            ),
            targets=[page],
        )
        self.training_failed = events.Rule(
            self,
            "TrainingFailed",
            description=f"Pages when a training job of {pipeline.pipeline_name} fails.",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Model Building Pipeline Execution Step Status Change"],
                detail={
                    "pipelineArn": [pipeline.pipeline_arn],
                    "stepType": ["Training"],
                    "currentStepStatus": ["Failed"],
                },
            ),
            targets=[page],
        )
        self.schedule: events.CfnRule | None = None
        if schedule is not None:
            role = iam.Role(
                self,
                "ScheduleRole",
                assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
                description=f"Starts {pipeline.pipeline_name} on its schedule.",
            )
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="StartPipeline",
                    actions=["sagemaker:StartPipelineExecution"],
                    resources=[pipeline.pipeline_arn],
                )
            )
            # No L2 target exists for SageMaker pipelines: the rule is written as CloudFormation
            # has it. The pipeline runs with the parameters' defaults, the inputs in config.
            self.schedule = events.CfnRule(
                self,
                "Schedule",
                description=f"Starts {pipeline.pipeline_name} ({schedule}).",
                schedule_expression=schedule,
                state="ENABLED",
                targets=[
                    events.CfnRule.TargetProperty(
                        id="TrainingPipeline",
                        arn=pipeline.pipeline_arn,
                        role_arn=role.role_arn,
                        sage_maker_pipeline_parameters=events.CfnRule.SageMakerPipelineParametersProperty(
                            pipeline_parameter_list=[]
                        ),
                    )
                ],
            )
            self.schedule.node.add_dependency(pipeline.pipeline)
