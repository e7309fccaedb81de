"""An environment serving a version registered in another account's group: its Model's role may
read that version's artifact from the owning account's buckets, and only from those.

The owning side (the group's resource policy, the artifact bucket's statement for the other
account) is checked on the shipped stacks in `test_training_pipeline.py`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import Synthesized, copy_project, synthesize, write_yaml
from tests.templates import assert_cfn_lint_clean, statements_by_sid

STAGING_ACCOUNT = "111111111111"
PACKAGE = f"arn:aws:sagemaker:eu-west-1:{STAGING_ACCOUNT}:model-package/staging-iris/3"


@pytest.fixture(scope="module")
def promoted(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """iris pinned to a Staging version, as `python -m ops promote --write` leaves it. The
    synth runs cdk-nag: an unacknowledged finding would fail it."""
    root = copy_project(tmp_path_factory.mktemp("promoted"))
    path = root / "models" / "iris" / "config.yaml"
    data = yaml.safe_load(path.read_text())
    data["artifact"].update(source="registry", model_package_arn=PACKAGE)
    write_yaml(path, data)
    return synthesize(root, root / "cdk.out", root / "bundles", stacks=("*-iris",))


def test_prod_reads_the_promoted_artifact_from_the_staging_account(promoted: Synthesized) -> None:
    statement = statements_by_sid(promoted.templates["Prod-iris"], prefix="ExecutionRole")[
        "ReadPromotedModel"
    ]
    assert statement["Action"] == "s3:GetObject"
    assert statement["Resource"] == "arn:aws:s3:::*/training/output/*"
    assert statement["Condition"] == {"StringEquals": {"s3:ResourceAccount": STAGING_ACCOUNT}}


def test_staging_serves_its_own_version_with_its_own_grants(promoted: Synthesized) -> None:
    own = statements_by_sid(promoted.templates["Staging-iris"], prefix="ExecutionRole")
    assert "ReadPromotedModel" not in own
    assert "UseArtifacts" in own  # its own bucket, where the version's artifact lies


def test_cfn_lint_finds_nothing_in_the_promoted_stacks(promoted: Synthesized) -> None:
    out: Path = promoted.outdir
    assert_cfn_lint_clean(out / f"{s}-iris.template.json" for s in ("Staging", "Prod"))
