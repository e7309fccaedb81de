"""`AWS::SageMaker::Pipeline` that trains a model and registers it, with its own scoped role."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import ArnFormat, Fn, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct, IConstruct

from stacks.checks.acknowledge import acknowledge_each, wildcard_resource_findings
from stacks.constructs.bundle_asset import BundleAsset
from stacks.constructs.iam import (
    add_statements,
    pull_image_statements,
    read_objects_statement,
    s3_bucket_arn,
    s3_object_arn,
    split_s3_uri,
)
from stacks.constructs.model_registry import ModelRegistry
from stacks.constructs.pipeline_contract import (
    ARTIFACT_BUCKET,
    CHECKPOINT_PREFIX,
    CODE_URI,
    MODEL_PACKAGE_GROUP,
    OUTPUT_PREFIX,
    ROLE_ARN,
    TRACKING_SERVER_ARN,
)

# Training jobs started by a pipeline are named `pipelines-<execution id>-<step>-<suffix>`.
PIPELINE_JOB_PREFIX = "pipelines-"
TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"


@dataclass(frozen=True)
class InputLocation:
    """A declared input: `s3://bucket/prefix/` or one object `s3://bucket/key`."""

    s3_uri: str
    versioned: bool = False

    @property
    def bucket(self) -> str:
        return split_s3_uri(self.s3_uri)[0]

    @property
    def key(self) -> str:
        return split_s3_uri(self.s3_uri)[1]

    @property
    def is_prefix(self) -> bool:
        return self.key == "" or self.key.endswith("/")

    @property
    def key_pattern(self) -> str:
        """The object keys read: every key under a prefix, or the one key."""
        return f"{self.key}*" if self.is_prefix else self.key


class TrainingPipeline(Construct):
    """The pipeline and the role it and its training jobs run as.

    The role reads only the declared inputs and the training code archive, writes only the
    artifact bucket's `training/output/` and `training/checkpoints/` prefixes, registers only
    into its own model package group, and may pass only itself, only to SageMaker.

    Args:
        pipeline_name: `<environment>-<model>-training`.
        definition: the definition JSON with `${Name}` placeholders (pipeline_contract).
        code: the training code archive (its URL becomes sagemaker_submit_directory).
        artifacts: the model's artifact bucket.
        registry: the model package group the pipeline registers into.
        inputs: the declared input locations.
        training_image: the training image; pulls are allowed from its repository only.
        inference_image: the serving image recorded on registered packages.
        tracking_server_arn: the MLflow tracking server a tracking definition names; None
            when runs are not tracked.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        pipeline_name: str,
        definition: str,
        code: BundleAsset,
        artifacts: s3.IBucket,
        registry: ModelRegistry,
        inputs: Sequence[InputLocation],
        training_image: str,
        tracking_server_arn: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        stack = Stack.of(self)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"Runs pipeline {pipeline_name} and its training jobs: reads the "
            "declared inputs, writes training/ in the artifact bucket, registers versions.",
        )
        training_jobs = stack.format_arn(
            service="sagemaker", resource="training-job", resource_name=f"{PIPELINE_JOB_PREFIX}*"
        )
        self._training_jobs = training_jobs
        self._log_groups = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"{TRAINING_LOG_GROUP}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        statements = [
            iam.PolicyStatement(
                sid="RunTrainingJobs",
                actions=[
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:AddTags",
                ],
                resources=[training_jobs],
            ),
            iam.PolicyStatement(
                sid="RegisterModelPackages",
                actions=[
                    "sagemaker:CreateModelPackage",
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:AddTags",
                ],
                resources=[registry.group_arn, registry.packages_arn],
            ),
            iam.PolicyStatement(
                sid="PassOwnRole",
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            read_objects_statement(sid="ReadTrainingCode", resources=[code.object_arn]),
            iam.PolicyStatement(
                sid="WriteTrainingOutputs",
                actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[
                    artifacts.arn_for_objects(f"{OUTPUT_PREFIX}/*"),
                    artifacts.arn_for_objects(f"{CHECKPOINT_PREFIX}/*"),
                ],
            ),
            iam.PolicyStatement(
                sid="ListTrainingOutputs",
                actions=["s3:ListBucket"],
                resources=[artifacts.bucket_arn],
                conditions={
                    "StringLike": {"s3:prefix": [f"{OUTPUT_PREFIX}/*", f"{CHECKPOINT_PREFIX}/*"]}
                },
            ),
            *pull_image_statements(stack, training_image, sid="PullTrainingImage"),
            iam.PolicyStatement(
                sid="WriteTrainingLogs",
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                resources=[self._log_groups],
            ),
            iam.PolicyStatement(
                sid="PublishTrainingMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
            ),
        ]
        statements.extend(_input_statements(stack, inputs))
        policy = add_statements(self.role, statements)

        body = Fn.sub(
            definition,
            {
                ROLE_ARN: self.role.role_arn,
                ARTIFACT_BUCKET: artifacts.bucket_name,
                CODE_URI: code.s3_object_url,
                MODEL_PACKAGE_GROUP: registry.group_name,
                **({TRACKING_SERVER_ARN: tracking_server_arn} if tracking_server_arn else {}),
            },
        )
        self.pipeline = sagemaker.CfnPipeline(
            self,
            "Pipeline",
            pipeline_name=pipeline_name,
            pipeline_description=f"Train, check the quality bar, register into "
            f"{registry.group_name}",
            role_arn=self.role.role_arn,
            pipeline_definition={"PipelineDefinitionBody": body},
        )
        # The pipeline's first execution needs the role's policy, and the group to register in.
        self.pipeline.node.add_dependency(policy)
        self.pipeline.node.add_dependency(registry.group)
        self.pipeline_name = pipeline_name
        self.pipeline_arn = stack.format_arn(
            service="sagemaker", resource="pipeline", resource_name=pipeline_name
        )
        self._acknowledge(policy, stack, artifacts, registry, inputs)

    def _acknowledge(
        self,
        policy: IConstruct,
        stack: Stack,
        artifacts: s3.IBucket,
        registry: ModelRegistry,
        inputs: Sequence[InputLocation],
    ) -> None:
        """Each wildcard resource of the role, acknowledged one by one with why it is needed."""
        reasons = {
            "*": "ecr:GetAuthorizationToken has no resource-level permissions; "
            "cloudwatch:PutMetricData is limited to SageMaker's namespaces by condition.",
            self._training_jobs: "Pipelines name training jobs at run time "
            "(pipelines-<execution id>-...); only those jobs.",
            registry.packages_arn: "Versions of this model's own package group, numbered by "
            "SageMaker as they are registered.",
            artifacts.arn_for_objects(f"{OUTPUT_PREFIX}/*"): "Training outputs under the "
            "artifact bucket's training/output/ prefix; keys are chosen by SageMaker per job.",
            artifacts.arn_for_objects(f"{CHECKPOINT_PREFIX}/*"): "Spot checkpoints under the "
            "artifact bucket's training/checkpoints/ prefix, one folder per execution.",
            self._log_groups: "SageMaker writes training logs to this fixed log group, one "
            "stream per job.",
        }
        for location in inputs:
            if location.is_prefix:
                reasons[_object_arn(stack, location)] = (
                    f"The declared training input {location.s3_uri}: every object under it."
                )
        findings = wildcard_resource_findings(policy, list(reasons))
        acknowledge_each(policy, dict(zip(findings, reasons.values(), strict=True)))


def _input_statements(stack: Stack, inputs: Sequence[InputLocation]) -> list[iam.PolicyStatement]:
    """Read exactly the declared inputs: objects under each prefix, or each one object."""
    statements = []
    for index, location in enumerate(inputs):
        actions = ["s3:GetObject"]
        if location.versioned:
            actions.append("s3:GetObjectVersion")
        statements.append(
            iam.PolicyStatement(
                sid=f"ReadInput{index}",
                actions=actions,
                resources=[_object_arn(stack, location)],
            )
        )
        statements.append(
            iam.PolicyStatement(
                sid=f"ListInput{index}",
                actions=["s3:ListBucket"],
                resources=[s3_bucket_arn(stack, location.bucket)],
                conditions={"StringLike": {"s3:prefix": [location.key_pattern]}},
            )
        )
    return statements


def _object_arn(stack: Stack, location: InputLocation) -> str:
    return s3_object_arn(stack, location.bucket, location.key_pattern)
