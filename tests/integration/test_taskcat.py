"""`.taskcat.yml`: one test per Staging stack and region, and `taskcat lint` passes offline on
templates synthesized for each of its regions (as `make taskcat` synthesizes them)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.templates import only_properties

TASKCAT = ROOT / ".venv-taskcat" / "bin" / "taskcat"
CONFIG = yaml.safe_load((ROOT / ".taskcat.yml").read_text())
REGIONS = CONFIG["project"]["regions"]


def staging_stacks() -> list[str]:
    from configs.loader import load_project

    project = load_project(ROOT)
    staging = project.environments["staging"]
    return sorted(f"{staging.prefix}-{name}" for name in project.models)


def test_every_staging_stack_is_tested_in_every_region() -> None:
    assert len(REGIONS) == 2
    expected = {
        f"{stack.lower()}-{region}": {
            "template": f".taskcat/{region}/{stack}.template.json",
            "regions": [region],
        }
        for stack in staging_stacks()
        for region in REGIONS
    }
    assert CONFIG["tests"] == expected, "add the new model's tests to .taskcat.yml"


def test_makefile_synthesizes_the_regions_taskcat_deploys() -> None:
    makefile = (ROOT / "Makefile").read_text()
    match = re.search(r"^TASKCAT_REGIONS := (.+)$", makefile, re.MULTILINE)
    assert match is not None and match.group(1).split() == REGIONS


@pytest.fixture(scope="module")
def taskcat_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project as `make taskcat-synth` leaves it: Staging templates per region."""
    from aws_cdk import App

    from app import with_target
    from configs.loader import load_project
    from stacks.app_stacks import add_stacks

    root = tmp_path_factory.mktemp("taskcat")
    shutil.copy(ROOT / ".taskcat.yml", root / ".taskcat.yml")
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    for region in REGIONS:
        project = with_target(load_project(ROOT), account=None, region=region)
        app = App(outdir=str(root / ".taskcat" / region), context=context)
        add_stacks(app, project, cache_dir=root / "bundles", selection=("Staging-*",))
        app.synth()
    return root


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    if not TASKCAT.exists():
        pytest.skip("no .venv-taskcat: `make test` (or `make taskcat-setup`) creates it")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [str(TASKCAT), "lint", "--project-root", str(root)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=root,
        env={**env, "AWS_EC2_METADATA_DISABLED": "true"},
    )


def test_taskcat_lint_passes_on_the_synthesized_templates(taskcat_project: Path) -> None:
    for region in REGIONS:
        template = json.loads(
            (taskcat_project / ".taskcat" / region / "Staging-iris.template.json").read_text()
        )
        assert "pytorch-inference" in json.dumps(template)
        assert f".dkr.ecr.{region}.amazonaws.com/" in json.dumps(template)
    result = lint(taskcat_project)
    assert result.returncode == 0, result.stdout + result.stderr
    passed = re.findall(r"Linting passed for file: (\S+)", result.stdout + result.stderr)
    assert len(passed) == len(CONFIG["tests"])


def test_taskcat_lint_fails_on_a_broken_template(taskcat_project: Path, tmp_path: Path) -> None:
    """Only the broken template's test is kept in the copy's .taskcat.yml: the others passed
    above, and linting them again would prove nothing more."""
    broken = tmp_path / "broken"
    shutil.copytree(taskcat_project, broken, ignore=shutil.ignore_patterns("asset.*"))
    name = f"staging-iris-{REGIONS[0]}"
    only = {**CONFIG, "tests": {name: CONFIG["tests"][name]}}
    (broken / ".taskcat.yml").write_text(yaml.safe_dump(only, sort_keys=False))
    path = broken / ".taskcat" / REGIONS[0] / "Staging-iris.template.json"
    template = json.loads(path.read_text())
    config = only_properties(template, "AWS::SageMaker::EndpointConfig")
    config["ProductionVariants"][0]["InitialInstanceCount"] = "two"
    path.write_text(json.dumps(template))
    result = lint(broken)
    assert result.returncode != 0
    assert "Staging-iris.template.json" in result.stdout + result.stderr
