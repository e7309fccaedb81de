"""Fixtures the unit tests share: moto's model registry with the Staging iris group in it, in the
Staging account, readable from the Prod account as the Staging stack's group policy makes it;
and Hypothesis' profiles.

Profiles: Hypothesis' own ("default", or "ci" where CI is set: 100 examples) are what `make
test` and CI run; "dev", a quarter of that, is what `make check` runs (HYPOTHESIS_PROFILE=dev,
or `--hypothesis-profile dev`). tests/unit/test_config_fuzz.py scales each campaign by that
share.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import settings
from moto import mock_aws

from ops.emulator.extensions import registry_policy
from ops.emulator.patching import Patches

REGION = "eu-west-1"
GROUP = "staging-iris"
STAGING_ACCOUNT = "111111111111"  # configs/staging.yaml: owns the group
PROD_ACCOUNT = "222222222222"  # configs/prod.yaml: serves what is promoted

settings.register_profile("dev", max_examples=25)
if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])


def group_policy(*accounts: str) -> str:
    """The resource policy the Staging stack gives the group (stacks.constructs.model_registry)."""
    principal = {"AWS": [f"arn:aws:iam::{account}:root" for account in accounts]}
    base = f"arn:aws:sagemaker:{REGION}:{STAGING_ACCOUNT}"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": principal,
                    "Action": ["sagemaker:DescribeModelPackageGroup"],
                    "Resource": f"{base}:model-package-group/{GROUP}",
                },
                {
                    "Effect": "Allow",
                    "Principal": principal,
                    "Action": ["sagemaker:DescribeModelPackage", "sagemaker:CreateModel"],
                    "Resource": f"{base}:model-package/{GROUP}/*",
                },
            ],
        }
    )


@pytest.fixture
def sagemaker(aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A SageMaker client on moto in the Staging account, with the model package group `GROUP`
    created and its resource policy letting the Prod account in (the emulator's extension
    stores it: stock moto has no group policies)."""
    monkeypatch.setenv("MOTO_ACCOUNT_ID", STAGING_ACCOUNT)
    with mock_aws(), Patches(registry_policy.patches).installed():
        client = boto3.client("sagemaker", region_name=REGION)
        client.create_model_package_group(ModelPackageGroupName=GROUP)
        client.put_model_package_group_policy(
            ModelPackageGroupName=GROUP, ResourcePolicy=group_policy(PROD_ACCOUNT)
        )
        yield client
