"""Fixtures the unit tests share: moto's model registry with the Staging iris group in it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

REGION = "eu-west-1"
GROUP = "staging-iris"


@pytest.fixture
def sagemaker(aws_credentials: None) -> Iterator[Any]:
    """A SageMaker client on moto, with the model package group `GROUP` created."""
    with mock_aws():
        client = boto3.client("sagemaker", region_name=REGION)
        client.create_model_package_group(ModelPackageGroupName=GROUP)
        yield client
