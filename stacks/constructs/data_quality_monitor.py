"""Model Monitor data quality on an endpoint: baseline assets, job definition, schedule, pages.

Every `schedule` SageMaker starts a processing job with Model Monitor's analyzer image; it reads
the window's captured requests, computes their statistics, checks them against the baseline
built at synth (`bundler.baseline`), writes constraint_violations.json, and, with
`publish_cloudwatch_metrics` Enabled, publishes per feature `feature_baseline_drift_<feature>`
(the drift distance) to CloudWatch. Alarms on those metrics page; so do executions that end with
violations or fail.

Metric names and dimensions: the Model Monitor guide's "CloudWatch Metrics for Bring Your Own
Containers" (model-monitor-byoc-cloudwatch.html) names the dimensions `Endpoint` and
`MonitoringSchedule` for real-time endpoints; "CloudWatch Metrics" (model-monitor-interpreting-
cloudwatch.html) names `feature_baseline_drift_{feature_name}`. The two pages spell the namespace
differently (`/aws/sagemaker/Endpoints/data-metric`, `/aws/sagemaker/Endpoint/data-metrics`);
the built-in container publishes to `aws/sagemaker/Endpoints/data-metrics`, used here.

Executions: the EventBridge reference lists no monitoring-execution event; each execution is a
processing job, whose "SageMaker Processing Job State Change" event carries the job's
description (DescribeProcessingJob): `MonitoringScheduleArn` ties it to this schedule,
`ProcessingJobStatus` Failed is a failed execution, and an `ExitMessage` starting with
"CompletedWithViolations" is an execution that found violations (MonitoringExecutionSummary's
status of the same name).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aws_cdk import ArnFormat, Duration, FileAssetPackaging, Fn, Stack, Stage
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct

from bundler.baseline import Baseline
from configs.monitoring import DataQuality
from stacks.checks.acknowledge import acknowledge_each, wildcard_resource_findings
from stacks.constructs.alarms import NOT_BREACHING, AlarmMetric
from stacks.constructs.bundle_asset import stage_file
from stacks.constructs.iam import add_statements, s3_bucket_arn, s3_object_arn
from stacks.metadata import MonitoringRecord

DRIFT_METRIC = AlarmMetric(
    "feature_baseline_drift_{feature}",
    "aws/sagemaker/Endpoints/data-metrics",
    "Maximum",
    # An hour without an execution (no captured traffic) is no evidence of drift.
    NOT_BREACHING,
    "feature {feature} drifted from its training baseline (distance above {threshold})",
)
PERIOD_SECONDS = {"hourly": 3600, "daily": 86400}
MAX_RUNTIME_SECONDS = 1800  # a schedule's job must end before the next one starts (hourly)
VOLUME_SIZE_GB = 20
PROCESSING_INPUT = "/opt/ml/processing/input/endpoint"
PROCESSING_OUTPUT = "/opt/ml/processing/output"


def schedule_name(endpoint_name: str) -> str:
    """The monitoring schedule's literal name: alarm dimensions and the local check use it.

    Endpoint names are at most 63 characters, as schedule names; "-dq" is added when it fits,
    else the endpoint's own name is the schedule's (one schedule per endpoint either way).
    """
    name = f"{endpoint_name}-dq"
    return name if len(name) <= 63 else endpoint_name


def _name_of(job_definition_arn: str) -> str:
    """The job definition's generated name, from its ARN (`...:data-quality-job-definition/<name>`).

    The resource returns only its ARN; a literal name would block its replacement (every property
    of a job definition replaces it, and a replacement may not reuse the old name).
    """
    return Fn.select(1, Fn.split("/", job_definition_arn))


class BaselineAssets(Construct):
    """statistics.json and constraints.json as file assets named by their sha256."""

    def __init__(self, scope: Construct, id_: str, *, baseline: Baseline) -> None:
        super().__init__(scope, id_)
        stack = Stack.of(self)
        outdir = Path(Stage.of(self).asset_outdir)  # type: ignore[union-attr]
        self.file_names: dict[str, str] = {}
        self.s3_urls: dict[str, str] = {}
        self.object_arns: list[str] = []
        for kind, path, sha256 in (
            ("statistics", baseline.statistics, baseline.statistics_sha256),
            ("constraints", baseline.constraints, baseline.constraints_sha256),
        ):
            file_name = f"asset.{sha256}.json"
            stage_file(path, outdir / file_name)
            location = stack.synthesizer.add_file_asset(
                file_name=file_name, packaging=FileAssetPackaging.FILE, source_hash=sha256
            )
            self.file_names[kind] = file_name
            self.s3_urls[kind] = location.s3_object_url
            self.object_arns.append(s3_object_arn(stack, location.bucket_name, location.object_key))


class DataQualityMonitor(Construct):
    """A DataQualityJobDefinition and MonitoringSchedule on the endpoint, and what pages.

    The job runs network-isolated with inter-container traffic encrypted, its volume and
    outputs under the stack's key, as a role that may read only this endpoint's captured data
    and the two baseline objects, write only its results prefix, use only the stack's key, and
    publish metrics only to the data-metrics namespace.

    Args:
        endpoint_name: the monitored endpoint (a literal name).
        endpoint: the endpoint resource; the job and schedule are created after it.
        config: schedule, threshold and job instance type.
        baseline: the built baseline files.
        image_uri: Model Monitor's analyzer image for the region.
        bucket: the artifact bucket that holds captured data and receives results.
        capture_prefix: where data capture writes (`data-capture/<endpoint>`).
        key: encrypts the job's volume and outputs; captured data is encrypted with it too.
        topic: the paging topic.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        endpoint_name: str,
        endpoint: sagemaker.CfnEndpoint,
        config: DataQuality,
        baseline: Baseline,
        image_uri: str,
        bucket: s3.IBucket,
        capture_prefix: str,
        key: kms.IKey,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, id_)
        self.config = config
        self.features = baseline.features
        self.schedule_name = schedule_name(endpoint_name)
        self.assets = BaselineAssets(self, "Baseline", baseline=baseline)
        results_prefix = f"monitoring/{endpoint_name}/data-quality"
        self.role, self.policy = self._role(bucket, capture_prefix, results_prefix, key)
        self.job_definition = sagemaker.CfnDataQualityJobDefinition(
            self,
            "JobDefinition",
            data_quality_app_specification=sagemaker.CfnDataQualityJobDefinition.DataQualityAppSpecificationProperty(
                image_uri=image_uri,
                environment={"publish_cloudwatch_metrics": "Enabled"},
            ),
            data_quality_baseline_config=sagemaker.CfnDataQualityJobDefinition.DataQualityBaselineConfigProperty(
                constraints_resource=sagemaker.CfnDataQualityJobDefinition.ConstraintsResourceProperty(
                    s3_uri=self.assets.s3_urls["constraints"]
                ),
                statistics_resource=sagemaker.CfnDataQualityJobDefinition.StatisticsResourceProperty(
                    s3_uri=self.assets.s3_urls["statistics"]
                ),
            ),
            data_quality_job_input=sagemaker.CfnDataQualityJobDefinition.DataQualityJobInputProperty(
                endpoint_input=sagemaker.CfnDataQualityJobDefinition.EndpointInputProperty(
                    endpoint_name=endpoint_name,
                    local_path=PROCESSING_INPUT,
                    s3_input_mode="File",
                    s3_data_distribution_type="FullyReplicated",
                )
            ),
            data_quality_job_output_config=sagemaker.CfnDataQualityJobDefinition.MonitoringOutputConfigProperty(
                kms_key_id=key.key_arn,
                monitoring_outputs=[
                    sagemaker.CfnDataQualityJobDefinition.MonitoringOutputProperty(
                        s3_output=sagemaker.CfnDataQualityJobDefinition.S3OutputProperty(
                            local_path=PROCESSING_OUTPUT,
                            s3_uri=f"s3://{bucket.bucket_name}/{results_prefix}",
                            s3_upload_mode="EndOfJob",
                        )
                    )
                ],
            ),
            job_resources=sagemaker.CfnDataQualityJobDefinition.MonitoringResourcesProperty(
                cluster_config=sagemaker.CfnDataQualityJobDefinition.ClusterConfigProperty(
                    instance_count=1,
                    instance_type=config.instance_type,
                    volume_size_in_gb=VOLUME_SIZE_GB,
                    volume_kms_key_id=key.key_arn,
                )
            ),
            network_config=sagemaker.CfnDataQualityJobDefinition.NetworkConfigProperty(
                enable_network_isolation=True,
                enable_inter_container_traffic_encryption=True,
            ),
            role_arn=self.role.role_arn,
            stopping_condition=sagemaker.CfnDataQualityJobDefinition.StoppingConditionProperty(
                max_runtime_in_seconds=MAX_RUNTIME_SECONDS
            ),
        )
        self.job_definition.node.add_dependency(endpoint)
        self.job_definition.node.add_dependency(self.policy)  # its permissions, then the job
        self.schedule = sagemaker.CfnMonitoringSchedule(
            self,
            "Schedule",
            monitoring_schedule_name=self.schedule_name,
            endpoint_name=endpoint_name,
            monitoring_schedule_config=sagemaker.CfnMonitoringSchedule.MonitoringScheduleConfigProperty(
                monitoring_job_definition_name=_name_of(
                    self.job_definition.attr_job_definition_arn
                ),
                monitoring_type="DataQuality",
                schedule_config=sagemaker.CfnMonitoringSchedule.ScheduleConfigProperty(
                    schedule_expression=config.cron
                ),
            ),
        )
        self.schedule.node.add_dependency(endpoint)
        self.alarms = self._drift_alarms(endpoint_name, config, baseline.features, topic)
        self.rules = self._execution_rules(topic)

    def record(self) -> MonitoringRecord:
        """What the template metadata tells local tools about this monitoring."""
        return MonitoringRecord(
            schedule_name=self.schedule_name,
            schedule=self.config.cron,
            drift_threshold=self.config.drift_threshold,
            features=self.features,
            statistics=self.assets.file_names["statistics"],
            constraints=self.assets.file_names["constraints"],
        )

    def _role(
        self, bucket: s3.IBucket, capture_prefix: str, results_prefix: str, key: kms.IKey
    ) -> tuple[iam.Role, iam.Policy]:
        stack = Stack.of(self)
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Runs the endpoint's data quality monitoring jobs.",
        )
        captured = s3_object_arn(stack, bucket.bucket_name, f"{capture_prefix}/*")
        results = s3_object_arn(stack, bucket.bucket_name, f"{results_prefix}/*")
        logs = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name="/aws/sagemaker/ProcessingJobs:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        statements = [
            iam.PolicyStatement(
                sid="ListCapturedData",
                actions=["s3:ListBucket"],
                resources=[s3_bucket_arn(stack, bucket.bucket_name)],
                conditions={
                    "StringLike": {"s3:prefix": [f"{capture_prefix}/*", f"{results_prefix}/*"]}
                },
            ),
            iam.PolicyStatement(
                sid="ReadCapturedDataAndBaseline",
                actions=["s3:GetObject"],
                resources=[captured, *self.assets.object_arns],
            ),
            iam.PolicyStatement(
                sid="WriteResults",
                actions=["s3:PutObject"],
                resources=[results],
            ),
            iam.PolicyStatement(
                sid="UseStackKey",
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:CreateGrant"],
                resources=[key.key_arn],
            ),
            iam.PolicyStatement(
                sid="PublishDataMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],  # PutMetricData has no resource; the namespace is the scope
                conditions={"StringEquals": {"cloudwatch:namespace": DRIFT_METRIC.namespace}},
            ),
            iam.PolicyStatement(
                sid="WriteJobLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[logs],
            ),
        ]
        policy = add_statements(role, statements)
        captured_finding, results_finding, logs_finding = wildcard_resource_findings(
            self, [captured, results, logs]
        )
        acknowledge_each(
            policy,
            {
                "AwsSolutions-IAM5[Resource::*]": "Only cloudwatch:PutMetricData uses '*': it "
                "has no resource-level permissions; the condition limits it to the "
                "data-metrics namespace.",
                captured_finding: "Captured requests of this endpoint only; SageMaker names "
                "the objects by hour and request at run time.",
                results_finding: "This schedule's results prefix only; each execution writes "
                "under a folder named by its time.",
                logs_finding: "SageMaker names each processing job's log stream at run time, "
                "in the log group all processing jobs write to.",
            },
        )
        return role, policy

    def _drift_alarms(
        self,
        endpoint_name: str,
        config: DataQuality,
        features: Sequence[str],
        topic: sns.ITopic,
    ) -> list[cloudwatch.Alarm]:
        notify = actions.SnsAction(topic)
        alarms = []
        for feature in features:
            alarm = cloudwatch.Alarm(
                self,
                f"Drift-{feature}",
                alarm_name=f"{self.schedule_name}-drift-{feature}",
                alarm_description=f"{endpoint_name}: "
                + DRIFT_METRIC.describes.format(feature=feature, threshold=config.drift_threshold)
                + " (pages).",
                metric=cloudwatch.Metric(
                    namespace=DRIFT_METRIC.namespace,
                    metric_name=DRIFT_METRIC.metric_name.format(feature=feature),
                    dimensions_map={
                        "Endpoint": endpoint_name,
                        "MonitoringSchedule": self.schedule_name,
                    },
                    statistic=DRIFT_METRIC.statistic,
                    period=Duration.seconds(PERIOD_SECONDS[config.schedule]),
                ),
                threshold=config.drift_threshold,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=DRIFT_METRIC.treat_missing,
            )
            alarm.add_alarm_action(notify)
            alarm.add_ok_action(notify)
            alarms.append(alarm)
        return alarms

    def _execution_rules(self, topic: sns.ITopic) -> list[events.Rule]:
        # The SNS target grants EventBridge the topic key's use (the topic is encrypted).
        page = targets.SnsTopic(topic)
        schedule_arn = self.schedule.attr_monitoring_schedule_arn
        outcomes: dict[str, tuple[str, dict[str, Any]]] = {
            "ExecutionViolations": (
                "finds constraint violations",
                {"ExitMessage": [{"prefix": "CompletedWithViolations"}]},
            ),
            "ExecutionFailed": ("fails", {"ProcessingJobStatus": ["Failed"]}),
        }
        return [
            events.Rule(
                self,
                rule_id,
                description=f"Pages when a run of {self.schedule_name} {what}.",
                event_pattern=events.EventPattern(
                    source=["aws.sagemaker"],
                    detail_type=["SageMaker Processing Job State Change"],
                    detail={"MonitoringScheduleArn": [schedule_arn], **match},
                ),
                targets=[page],
            )
            for rule_id, (what, match) in outcomes.items()
        ]
