"""AWS::S3::BucketPolicy, recorded as a stack resource but not put on the bucket.

moto enforces bucket policies without their conditions, so the usual "deny unless
aws:SecureTransport" statement would deny every request to the plain-HTTP emulator.
Policies are IAM evaluation, which this emulator does not claim to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition

from ops.emulator.extensions.resources.base import ProjectResource, Props


@dataclass(eq=False)
class CfnBucketPolicy(ProjectResource):
    """The policy of one bucket; `Ref` gives the bucket's name, as AWS does."""

    resource_type = "AWS::S3::BucketPolicy"
    name_property = ""
    physical_id = "bucket"

    bucket: str
    document: Any

    @classmethod
    def create(cls, *, name: str, props: Props, account_id: str, region_name: str) -> Self:
        # The bucket must exist, as CloudFormation requires.
        s3_backends[account_id][get_partition(region_name)].get_bucket(props["Bucket"])
        return cls(props["Bucket"], props["PolicyDocument"])

    def delete(self, account_id: str, region_name: str) -> None:
        """Nothing was put on the bucket."""
        return
