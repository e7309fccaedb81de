"""A model's files under one S3 prefix, for SageMaker's uncompressed model data (S3Prefix).

A CDK directory asset reaches S3 as one zip object, not as a prefix of objects. The staged
directory is therefore registered as a directory asset (the CLI zips it at publish time) and a
`BucketDeployment` extracts that zip under `models/<key>/` of the model's artifact bucket during
the deploy. The prefix is named by the content key, so a new model version gets a new prefix
while the old one stays for SageMaker's blue/green rollback (nothing is pruned or deleted).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from aws_cdk import CfnResource, FileAssetPackaging, Size, Stack, Stage
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct, IConstruct

from bundler import Bundle
from bundler.staging import MANIFEST
from stacks.checks.acknowledge import acknowledge, acknowledge_each, wildcard_resource_finding

MIB = 1 << 20
# Lambda's limits: ephemeral storage 512-10240 MiB, memory 128-10240 MiB.
EPHEMERAL_MAX_MIB = 10_240
EPHEMERAL_MIN_MIB = 512
# The handler downloads the zip into /tmp and extracts it there: both copies must fit.
HEADROOM_MIB = 512


def ephemeral_mib(model_bytes: int) -> int:
    """Ephemeral storage the upload function needs for a model of `model_bytes`: the zip
    (weights barely compress) plus the extracted files, plus headroom; rounded to 64 MiB."""
    need = 2 * model_bytes // MIB + HEADROOM_MIB
    return max(EPHEMERAL_MIN_MIB, -(-need // 64) * 64)


def memory_mib(model_bytes: int) -> int:
    """Lambda gives CPU and network in proportion to memory; extracting and copying GBs at the
    128 MiB default would risk the function's 15-minute limit. 1 GiB below 1 GiB of model,
    2 GiB above."""
    return 1024 if model_bytes < 1 << 30 else 2048


def fits(model_bytes: int) -> bool:
    """Whether the upload function's ephemeral storage can hold a model this large."""
    return ephemeral_mib(model_bytes) <= EPHEMERAL_MAX_MIB


class UnpackedModelAsset(Construct):
    """Uploads a staged bundle directory under `models/<key>/` of `bucket` at deploy time.

    Exposes what the role and the Model need: `s3_object_url` (the prefix as an S3 URI,
    ending in `/`), `object_arn` (every object under the prefix), `bucket_arn` and `prefix`.

    Args:
        bundle: the staged directory (`bundler.staging.stage`).
        bucket: the model's artifact bucket.
    """

    def __init__(self, scope: Construct, id_: str, *, bundle: Bundle, bucket: s3.IBucket) -> None:
        super().__init__(scope, id_)
        if not bundle.path.is_dir():
            raise ValueError(f"{bundle.path} is not a staged directory")
        if not fits(bundle.size):
            raise ValueError(f"{bundle.size} bytes do not fit the upload function's storage")
        stack = Stack.of(self)
        dir_name = f"asset.{bundle.sha256}"
        stage_directory(bundle.path, Path(Stage.of(self).asset_outdir) / dir_name)  # type: ignore[union-attr]
        location = stack.synthesizer.add_file_asset(
            file_name=dir_name,
            packaging=FileAssetPackaging.ZIP_DIRECTORY,
            source_hash=bundle.sha256,
        )
        asset_bucket = s3.Bucket.from_bucket_name(self, "AssetBucket", location.bucket_name)
        self.sha256 = bundle.sha256
        self.prefix = f"models/{bundle.sha256}/"
        self.deployment = s3deploy.BucketDeployment(
            self,
            "Upload",
            sources=[s3deploy.Source.bucket(asset_bucket, location.object_key)],
            destination_bucket=bucket,
            destination_key_prefix=self.prefix,
            extract=True,
            prune=False,
            retain_on_delete=True,
            output_object_keys=False,
            memory_limit=memory_mib(bundle.size),
            ephemeral_storage_size=Size.mebibytes(ephemeral_mib(bundle.size)),
        )
        self.bucket_arn = bucket.bucket_arn
        self.object_arn = bucket.arn_for_objects(f"{self.prefix}*")
        self.s3_object_url = f"s3://{bucket.bucket_name}/{self.prefix}"
        self._acknowledge(stack, asset_bucket, bucket)

    def grant_read(self, role: iam.IRole) -> None:
        """List and read exactly the prefix (S3Prefix model data is listed, then copied)."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ListUnpackedModel",
                actions=["s3:ListBucket"],
                resources=[self.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [self.prefix, f"{self.prefix}*"]}},
            )
        )
        policy = role.node.try_find_child("DefaultPolicy")
        if policy is not None:
            acknowledge(
                policy,
                wildcard_resource_finding(self, self.object_arn),
                "The model's files under their content-named prefix: SageMaker copies every "
                "object there (S3Prefix model data); nothing else in the bucket is granted for it.",
            )

    def _acknowledge(self, stack: Stack, source: s3.IBucket, destination: s3.IBucket) -> None:
        """cdk-nag findings on the CDK's upload function, each with its reason."""
        handler = _singleton_handler(stack)
        if handler is None:  # pragma: no cover - the CDK always adds it
            return
        acknowledge_each(
            handler,
            {
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]": "The CDK's model upload function only writes "
                "its own logs with the AWS basic execution policy.",
                "AwsSolutions-L1": "The upload function's runtime is chosen by aws-cdk-lib's "
                "BucketDeployment and moves with the pinned aws-cdk-lib version.",
                **dict(_wildcard_findings(stack, source, destination)),
            },
        )
        # The CDK's function lists its role in DependsOn although its Role GetAtt already
        # orders them; cfn-lint's W3005 says so. Harmless, and the template is the CDK's.
        function = handler.node.default_child
        if isinstance(function, CfnResource):
            function.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})


def _singleton_handler(stack: Stack) -> IConstruct | None:
    for child in stack.node.children:
        if child.node.id.startswith("Custom::CDKBucketDeployment"):
            return child
    return None


def _wildcard_findings(
    stack: Stack, source: s3.IBucket, destination: s3.IBucket
) -> list[tuple[str, str]]:
    """The IAM5 findings on the upload function's policy: object wildcards in the asset bucket
    (read the zip) and under the model prefix (write the files), and action wildcards the CDK
    grants (s3:GetObject*, s3:List*, s3:DeleteObject*, s3:Abort*)."""
    reason_actions = (
        "Action wildcards come from the CDK's read/write grants to its upload function, "
        "limited to the asset bucket and the model's artifact bucket."
    )
    findings = [
        (f"AwsSolutions-IAM5[Action::{action}]", reason_actions)
        for action in (
            "s3:GetBucket*",
            "s3:GetObject*",
            "s3:List*",
            "s3:DeleteObject*",
            "s3:Abort*",
        )
    ]
    findings.append(
        (
            wildcard_resource_finding(stack, source.arn_for_objects("*")),
            "The CDK grants its upload function read access to the CDK asset bucket; it reads "
            "the one zip of the model's files.",
        )
    )
    findings.append(
        (
            wildcard_resource_finding(stack, destination.arn_for_objects("*")),
            "The CDK grants its upload function write access to the artifact bucket's "
            "objects; it writes only under the model's content-named prefix.",
        )
    )
    return findings


def stage_directory(source: Path, target: Path) -> None:
    """Hard-link (else copy) the staged files into the cloud assembly; appears atomically."""
    if target.is_dir():
        return
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        for path in sorted(source.rglob("*")):
            relative = path.relative_to(source)
            if relative == Path(MANIFEST) or not path.is_file():
                continue
            destination = partial / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, destination)
            except OSError:
                shutil.copy2(path, destination)
        partial.mkdir(parents=True, exist_ok=True)
        try:
            partial.rename(target)
        except OSError:
            if not target.is_dir():  # else another synth placed the same files first
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
