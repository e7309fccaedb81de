"""The GitHub workflows: actionlint and zizmor clean, pinned actions, least privilege, gates."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent
SHA = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def load(name: str) -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps(workflow: dict[Any, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(job, step) for job, spec in workflow["jobs"].items() for step in spec["steps"]]


@pytest.mark.parametrize("tool", ["actionlint", "zizmor"])
def test_linters_are_clean(tool: str) -> None:
    command = (
        [str(BIN / "actionlint")]
        if tool == "actionlint"
        else [str(BIN / "zizmor"), "--offline", "--min-severity", "low", str(WORKFLOWS)]
    )
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("name", ["pr.yml", "deploy.yml"])
def test_every_action_is_pinned_to_a_commit(name: str) -> None:
    uses = [step["uses"] for _, step in steps(load(name)) if "uses" in step]
    assert uses
    assert [u for u in uses if not SHA.match(u)] == []


@pytest.mark.parametrize("name", ["pr.yml", "deploy.yml"])
def test_permissions_are_empty_by_default_and_set_per_job(name: str) -> None:
    workflow = load(name)
    assert workflow["permissions"] == {}
    for job, spec in workflow["jobs"].items():
        assert "permissions" in spec, job
        writes = {k for k, v in (spec["permissions"] or {}).items() if v == "write"}
        assumes_role = any(
            "configure-aws-credentials" in step.get("uses", "") for step in spec["steps"]
        )
        assert ("id-token" in writes) == assumes_role, job
        assert writes - {"id-token", "pull-requests"} == set(), job


@pytest.mark.parametrize("name", ["pr.yml", "deploy.yml"])
def test_node_22_and_no_persisted_git_credentials(name: str) -> None:
    for job, step in steps(load(name)):
        if "setup-node" in step.get("uses", ""):
            assert step["with"]["node-version"] == "22", job
        if "actions/checkout" in step.get("uses", ""):
            assert step["with"]["persist-credentials"] is False, job


def test_pr_workflow_keeps_credentials_from_forks_and_gates_destructive_changes() -> None:
    workflow = load("pr.yml")
    assert set(workflow["on"]) == {"pull_request"}  # never pull_request_target
    jobs = workflow["jobs"]
    same_repo = "github.event.pull_request.head.repo.full_name == github.repository"
    assert same_repo in jobs["comment"]["if"]
    assert (
        same_repo in jobs["live-diff"]["if"] and "vars.AWS_PLAN_ROLE_ARN" in jobs["live-diff"]["if"]
    )
    assert "id-token" not in jobs["diff"]["permissions"]
    render = next(s for s in jobs["diff"]["steps"] if s.get("id") == "render")["run"]
    assert "make diff BASE=" in render and "--fail-on-destructive" in render
    gate = jobs["gate"]["steps"][0]
    assert "labels.*.name" in gate["if"] and "exit 1" in gate["run"]
    assert {"labeled", "unlabeled"} <= set(workflow["on"]["pull_request"]["types"])


def test_deploy_workflow_order_environments_and_concurrency() -> None:
    workflow = load("deploy.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert workflow["concurrency"]["cancel-in-progress"] is False
    jobs = workflow["jobs"]
    assert jobs["staging"]["environment"] == "staging"
    assert jobs["production"]["environment"] == "production"
    assert jobs["production"]["needs"] == "staging"
    assert jobs["retire"]["environment"] == "retire"
    assert set(jobs["retire"]["needs"]) == {"staging", "production"}
    runs = {job: [s.get("run", "") for s in spec["steps"]] for job, spec in jobs.items()}
    assert runs["staging"].index("make deploy STACKS='Staging-*'") < runs["staging"].index(
        "make verify STACKS='Staging-*'"
    )
    assert "make verify STACKS='Prod-*'" in runs["production"]
    for job in ("staging", "production", "retire"):
        roles = [
            s["with"]["role-to-assume"]
            for s in jobs[job]["steps"]
            if "configure-aws-credentials" in s.get("uses", "")
        ]
        assert roles and all(r.startswith("${{ vars.") for r in roles), job


@pytest.mark.parametrize("name", ["pr.yml", "deploy.yml"])
def test_workflows_call_make_targets_that_exist(name: str) -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z-]+):", makefile, flags=re.MULTILINE))
    called = set()
    for _, step in steps(load(name)):
        called |= set(re.findall(r"\bmake (?:-s )?([a-z-]+)", step.get("run", "")))
    assert called and called <= targets


TORCH_CPU_WHEELS = "https://download.pytorch.org/whl/cpu/torch/"


def uv_installs(find_links: str | None) -> list[list[str]]:
    """The uv commands make would run for the two environments that hold torch, printed (-n)
    and not run, as on a fresh machine (-B): with `PIP_FIND_LINKS` as given, and without any of
    pip's configuration files."""
    env = {k: v for k, v in os.environ.items() if k != "PIP_FIND_LINKS"}
    env["PIP_CONFIG_FILE"] = os.devnull
    if find_links is not None:
        env["PIP_FIND_LINKS"] = find_links
    stamps = [".venv/.installed", ".venv-serve/.installed"]
    printed = subprocess.run(
        ["make", "--no-print-directory", "-n", "-B", *stamps],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    installs = [line.split() for line in printed.splitlines() if "uv pip install" in line]
    assert len(installs) == len(stamps), printed
    return installs


def find_links(words: list[str]) -> list[str]:
    return [words[i + 1] for i, word in enumerate(words) if word == "--find-links"]


def test_torch_comes_from_pytorchs_cpu_index_where_no_wheel_folder_is_given() -> None:
    """A laptop or a GitHub runner has no wheel folder, and PyPI has no CPU build of torch: the
    environments find the pinned build on torch's page of PyTorch's CPU index."""
    assert "torch==2.13.0+cpu" in (ROOT / "constraints.txt").read_text().splitlines()
    for words in uv_installs(None):
        assert find_links(words) == [TORCH_CPU_WHEELS], words


def test_a_wheel_folder_given_replaces_the_index_page(tmp_path: Path) -> None:
    """Offline (this machine): the folders in PIP_FIND_LINKS, and nothing from the internet."""
    folders = [str(tmp_path / "a"), str(tmp_path / "b")]
    for words in uv_installs(" ".join(folders)):
        assert find_links(words) == folders, words
