"""What a training pipeline's definition and its construct agree on, with no CDK import.

The definition (`stacks.pipeline_definition`, generated from config alone) leaves `${Name}`
placeholders for the values only CloudFormation knows; the construct fills them with `Fn::Sub`.
The pipeline writes under two prefixes of the artifact bucket, and its role may write nothing
else.
"""

from __future__ import annotations

# Placeholders the construct substitutes (Fn::Sub).
ROLE_ARN = "RoleArn"
ARTIFACT_BUCKET = "ArtifactBucket"
CODE_URI = "CodeUri"
MODEL_PACKAGE_GROUP = "ModelPackageGroup"
PLACEHOLDERS = (ROLE_ARN, ARTIFACT_BUCKET, CODE_URI, MODEL_PACKAGE_GROUP)
# Only in the definitions of pipelines that record their runs in MLflow.
TRACKING_SERVER_ARN = "TrackingServerArn"
OPTIONAL_PLACEHOLDERS = (TRACKING_SERVER_ARN,)

# Prefixes of the artifact bucket the pipeline writes.
OUTPUT_PREFIX = "training/output"
CHECKPOINT_PREFIX = "training/checkpoints"


def placeholder(name: str) -> str:
    """`RoleArn` -> `${RoleArn}`, as Fn::Sub reads it."""
    return "${" + name + "}"
