"""A model's training: the model registry, the pipeline that registers into it, its events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import CfnOutput
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from bundler import Bundle
from configs.tracking import Mlflow
from configs.training import Training
from stacks.constructs.bundle_asset import BundleAsset
from stacks.constructs.model_registry import ModelRegistry
from stacks.constructs.pipeline_contract import OUTPUT_PREFIX
from stacks.constructs.tracking_server import TrackingServer
from stacks.constructs.training_events import TrainingEvents
from stacks.constructs.training_pipeline import InputLocation, TrainingPipeline


@dataclass(frozen=True)
class TrainingBuild:
    """What a model's training pipeline is made of, prepared at the edge (`stacks.app_stacks`).

    Args:
        code: the training code archive.
        training_image: the SageMaker PyTorch training image.
        definition: the pipeline definition JSON (`stacks.pipeline_definition`).
    """

    code: Bundle
    training_image: str
    definition: str


class ModelTraining:
    """The model package group, the training pipeline, its schedule and failure pages, and the
    stack outputs that name the pipeline and the group.

    Not a Construct of its own: each part is created directly in `scope` (the stack) under the
    id it has always had, so the logical ids stay the same; the registry's is pinned by a test,
    since the group holds the approval history.

    Args:
        scope: where the parts are created.
        endpoint_name: `<environment>-<model>`; also the group's name.
        model_name: the model, for descriptions.
        environment_name: the environment, for descriptions.
        config: the resolved training section.
        build: the code archive, training image and definition.
        artifacts: the model's artifact bucket (outputs, checkpoints).
        topic: the paging topic failures are sent to; `key` encrypts it.
        tracking: the environment's MLflow tracking; enabled, a tracking server
            `<environment>-<model>` records every execution's run.
        consumer_accounts: the other environments' accounts: they may read the group, deploy
            its versions and read the model artifacts those name.
    """

    def __init__(
        self,
        scope: Construct,
        *,
        endpoint_name: str,
        model_name: str,
        environment_name: str,
        config: Training,
        build: TrainingBuild,
        artifacts: s3.IBucket,
        topic: sns.ITopic,
        key: kms.IKey,
        tracking: Mlflow | None = None,
        consumer_accounts: Sequence[str] = (),
    ) -> None:
        self.tracking = (
            TrackingServer(
                scope, "Tracking", server_name=endpoint_name, artifacts=artifacts, config=tracking
            )
            if tracking is not None and tracking.enabled
            else None
        )
        self.registry = ModelRegistry(
            scope,
            "ModelRegistry",
            group_name=endpoint_name,
            description=f"Versions of {model_name} trained in {environment_name}, for approval",
            consumer_accounts=consumer_accounts,
        )
        if consumer_accounts:
            # What a registered version names as its ModelDataUrl: the job's model.tar.gz under
            # training/output/. SSE-S3 (the bucket's encryption) needs no key grant; a test
            # holds the bucket to it.
            artifacts.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="OtherAccountsReadRegisteredModels",
                    principals=[iam.AccountPrincipal(a) for a in consumer_accounts],
                    actions=["s3:GetObject"],
                    resources=[artifacts.arn_for_objects(f"{OUTPUT_PREFIX}/*")],
                )
            )
        self.pipeline = TrainingPipeline(
            scope,
            "Training",
            pipeline_name=f"{endpoint_name}-training",
            definition=build.definition,
            code=BundleAsset(scope, "TrainingCode", bundle=build.code),
            artifacts=artifacts,
            registry=self.registry,
            inputs=[
                InputLocation(i.s3_uri, versioned=i.version_id is not None)
                for i in config.inputs.values()
            ],
            training_image=build.training_image,
            tracking_server_arn=self.tracking.server_arn if self.tracking else None,
        )
        if self.tracking is not None:
            self.tracking.grant_record_runs(self.pipeline.role)
        self.events = TrainingEvents(
            scope,
            "TrainingEvents",
            pipeline=self.pipeline,
            topic=topic,
            key=key,
            schedule=config.schedule,
        )
        CfnOutput(scope, "TrainingPipelineName", value=self.pipeline.pipeline_name)
        CfnOutput(scope, "ModelPackageGroupName", value=self.registry.group_name)
        if self.tracking is not None:
            CfnOutput(scope, "TrackingServerArn", value=self.tracking.server_arn)
