"""Fixtures the unit tests share: moto's model registry with the Staging iris group in it, in the
Staging account, readable from the Prod account as the Staging stack's group policy makes it;
an empty MLflow store to copy; and Hypothesis' profiles.

Profiles: Hypothesis' own ("default", or "ci" where CI is set: 100 examples) are what `make
test` and CI run; "dev", a quarter of that, is what `make check` runs (HYPOTHESIS_PROFILE=dev,
or `--hypothesis-profile dev`). tests/unit/test_config_fuzz.py scales each campaign by that
share.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import settings
from moto import mock_aws

from ops.emulator.extensions import registry_policy
from ops.emulator.patching import Patches
from tests.conftest import ROOT
from tests.service_models import shared_service_models

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


@pytest.fixture(scope="session")
def empty_mlflow_store() -> Path:
    """An MLflow SQLite store with its tables made, for tests to copy (`mlflow_store_at`).

    Making the tables runs MLflow's schema migrations, about 4 to 6 CPU-seconds: once, then
    kept between runs in `.cache/`, as the session synth's bundles are (tests/conftest.py). The
    tables are what this MLflow's migrations make, with this SQLAlchemy, so the store's folder is
    named by both versions: an upgrade makes a new one. Every worker and every concurrent run in
    this checkout finds it there; the first to ask makes it under a lock. Tests only copy it.
    """
    from importlib.metadata import version

    versions = f"mlflow-{version('mlflow')}-sqlalchemy-{version('sqlalchemy')}"
    folder = ROOT / ".cache" / "test-mlflow" / versions
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "mlflow.db"
    with (folder / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not database.exists():
            from mlflow import MlflowClient

            making = Path(tempfile.mkdtemp(dir=folder)) / "mlflow.db"
            MlflowClient(tracking_uri=f"sqlite:///{making}").search_experiments()
            making.replace(database)
            making.parent.rmdir()
    return database


def mlflow_store_at(path: Path, empty_mlflow_store: Path) -> str:
    """A copy of the empty store at `path`, as a tracking URI."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(empty_mlflow_store, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session", autouse=True)
def _service_models_read_once() -> Iterator[None]:
    """botocore's service models parsed once per worker, not once per moto mock
    (tests/service_models.py)."""
    with shared_service_models():
        yield
