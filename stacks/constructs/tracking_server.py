"""`AWS::SageMaker::MlflowTrackingServer`: where a model's training runs are recorded in AWS."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from configs.tracking import Mlflow
from stacks.checks.acknowledge import acknowledge_each, wildcard_resource_findings
from stacks.constructs.iam import add_statements

# The artifact bucket's prefix that holds the runs' artifacts (weights, metrics, listings).
ARTIFACT_PREFIX = "mlflow"
# What a training job's modelkit.tracking (and SageMaker's own MLflow integration of the job)
# calls to record a run: find or create the experiment, find, create or join the run, log
# params, metrics and tags, end it, and read it back for its artifact location.
RUN_ACTIONS = (
    "GetExperimentByName",
    "CreateExperiment",
    "SearchRuns",
    "CreateRun",
    "GetRun",
    "UpdateRun",
    "LogBatch",
    "LogMetric",
    "LogParam",
    "SetTag",
)


class TrackingServer(Construct):
    """A SageMaker managed MLflow tracking server for one model in one environment, and the
    role it runs as.

    Its artifact store is the `mlflow/` prefix of the model's artifact bucket, which is
    encrypted (SSE-S3), TLS-only, versioned and retained; the server's role reads and writes
    only that prefix. Run metadata lives in the server, encrypted at rest by SageMaker. The
    server holds the run history, so it is retained when the stack is deleted (delete it by
    hand) and a test pins its logical id. Automatic model registration is off: the pipeline
    registers versions itself, with the run's id.

    Args:
        server_name: `<environment>-<model>`, also the pipeline's experiment name.
        artifacts: the model's artifact bucket.
        config: the environment's `tracking.mlflow`.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        server_name: str,
        artifacts: s3.IBucket,
        config: Mlflow,
    ) -> None:
        super().__init__(scope, id_)
        self._artifacts = artifacts
        self._objects = artifacts.arn_for_objects(f"{ARTIFACT_PREFIX}/*")
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"Runs MLflow tracking server {server_name}: reads and writes its "
            f"artifact store, {ARTIFACT_PREFIX}/ in the artifact bucket.",
        )
        policy = add_statements(
            self.role,
            [
                iam.PolicyStatement(
                    sid="ReadWriteRunArtifacts",
                    actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                    resources=[self._objects],
                ),
                iam.PolicyStatement(
                    sid="ListRunArtifacts",
                    actions=["s3:ListBucket"],
                    resources=[artifacts.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [f"{ARTIFACT_PREFIX}/*"]}},
                ),
                iam.PolicyStatement(
                    sid="LocateArtifactBucket",
                    actions=["s3:GetBucketLocation"],
                    resources=[artifacts.bucket_arn],
                ),
            ],
        )
        self._acknowledge_artifacts(policy, "The tracking server's artifact store")
        self.server = sagemaker.CfnMlflowTrackingServer(
            self,
            "Server",
            tracking_server_name=server_name,
            artifact_store_uri=f"s3://{artifacts.bucket_name}/{ARTIFACT_PREFIX}",
            role_arn=self.role.role_arn,
            tracking_server_size=config.server_size,
            mlflow_version=config.mlflow_version,
            weekly_maintenance_window_start=config.maintenance_window,
            automatic_model_registration=False,
        )
        # SageMaker checks the role can reach the artifact store when it creates the server.
        self.server.node.add_dependency(policy)
        self.server.apply_removal_policy(RemovalPolicy.RETAIN)
        self.server_name = server_name
        self.server_arn = self.server.attr_tracking_server_arn

    def grant_record_runs(self, role: iam.Role) -> None:
        """Let `role` (a training pipeline's, which its jobs run as) record runs: MLflow's run
        calls on this server only, and uploading artifacts under the store's prefix (MLflow
        clients write artifacts to S3 themselves)."""
        policy = add_statements(
            role,
            [
                iam.PolicyStatement(
                    sid="RecordRuns",
                    actions=[f"sagemaker-mlflow:{action}" for action in RUN_ACTIONS],
                    resources=[self.server_arn],
                ),
                iam.PolicyStatement(
                    sid="UploadRunArtifacts",
                    actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                    resources=[self._objects],
                ),
            ],
        )
        self._acknowledge_artifacts(policy, "Run artifacts the training job uploads")

    def _acknowledge_artifacts(self, policy: iam.Policy, what: str) -> None:
        """The one wildcard: objects under the store's prefix, named by MLflow per run."""
        (finding,) = wildcard_resource_findings(Stack.of(self), [self._objects])
        acknowledge_each(
            policy,
            {
                finding: f"{what}: objects under the artifact bucket's {ARTIFACT_PREFIX}/ "
                "prefix, keyed by MLflow per experiment and run."
            },
        )
