"""`python -m ops diff-synth` with the real CDK CLI: a change inside one model folder builds that
model's stacks on both sides and nothing else, and the comment says so; a model added builds
on the head only, its base an empty assembly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ops.__main__ import main
from stacks.templates import read_assembly
from tests.conftest import ROOT, copy_project


def diff_synth(work: Path, base: Path, head: Path, changed: list[str]) -> dict[str, object]:
    (work / "changed.txt").write_text("".join(f"{path}\n" for path in changed))
    status = main(
        [
            "diff-synth",
            "--base", str(base), "--head", str(head), "--code", str(ROOT),
            "--base-out", str(work / "base.out"), "--head-out", str(work / "head.out"),
            "--changed-files", str(work / "changed.txt"), "--scope", str(work / "scope.json"),
            "--bundle-cache", str(work.parent / "bundles"),
            "--cdk", str(ROOT / "node_modules" / ".bin" / "cdk"),
        ]
    )  # fmt: skip
    assert status == 0
    scope: dict[str, object] = json.loads((work / "scope.json").read_text())
    return scope


def names(assembly: Path) -> list[str]:
    return sorted(stack.name for stack in read_assembly(assembly))


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The project as base; the head with new iris weights and a new model `fresh`."""
    work = tmp_path_factory.mktemp("scope")
    base = copy_project(work / "base")
    head = Path(shutil.copytree(base, work / "head"))
    with (head / "models" / "iris" / "model.pt").open("ab") as weights:
        weights.write(b"\0retrained")
    shutil.copytree(head / "models" / "digits", head / "models" / "fresh")
    return base, head


def test_a_weights_change_builds_one_model_on_both_sides_and_the_comment_says_so(
    projects: tuple[Path, Path], tmp_path: Path
) -> None:
    base, head = projects
    scope = diff_synth(tmp_path, base, head, ["models/iris/model.pt"])
    assert scope["base"] == scope["head"] == ["Prod-iris", "Staging-iris"]
    assert names(tmp_path / "base.out") == names(tmp_path / "head.out") == scope["head"]
    output = tmp_path / "diff.md"
    status = main(
        [
            "diff", "--base", str(tmp_path / "base.out"), "--head", str(tmp_path / "head.out"),
            "--scope", str(tmp_path / "scope.json"), "--output", str(output),
        ]
    )  # fmt: skip
    assert status == 0
    markdown = output.read_text()
    assert "Compared 2 of 6 stacks (`Prod-iris`, `Staging-iris`); the other 4 were not" in markdown
    assert "new model version" in markdown


def test_a_new_model_builds_on_the_head_only(projects: tuple[Path, Path], tmp_path: Path) -> None:
    base, head = projects
    scope = diff_synth(tmp_path, base, head, ["models/fresh/config.yaml"])
    assert (scope["base"], scope["head"]) == ([], ["Prod-fresh", "Staging-fresh"])
    assert names(tmp_path / "base.out") == []
    assert names(tmp_path / "head.out") == ["Prod-fresh", "Staging-fresh"]
