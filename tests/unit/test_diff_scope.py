"""Which stacks the PR diff synthesizes (`ops.diff.scope`, `ops.diff.synth`): only those reading a
changed model folder, on both sides, and everything when anything else changed."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.scale import changed_paths
from configs.loader import Project, load_project
from ops.diff import scope as scope_module
from ops.diff.markdown import scope_line
from ops.diff.scope import Scope, changed_files, select
from ops.diff.synth import Side, empty_assembly, synth_command, synthesize
from stacks.templates import read_assembly
from tests.conftest import copy_project


def edit(folder: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = folder / "config.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def add_model(root: Path, name: str, *, shared: bool = True) -> Path:
    """A copy of iris named `name`; without `shared`, it names no shared folder."""
    folder = root / "models" / name
    shutil.copytree(root / "models" / "iris", folder)
    if not shared:
        edit(folder, lambda data: data["artifact"].update(shared=[]))
    return folder


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """iris and digits (both sharing modelkit), `solo` (no shared folder), and `iris-next`,
    which iris serves as its challenger variant."""
    root = copy_project(tmp_path / "base")
    add_model(root, "solo", shared=False)
    add_model(root, "iris-next")
    variants = {"champion": {"weight": 9}, "challenger": {"weight": 1, "model": "iris-next"}}
    edit(root / "models" / "iris", lambda data: data.update(variants=variants))
    return root


@pytest.fixture
def head(base: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(base, tmp_path / "head"))


def stacks(*models: str) -> tuple[str, ...]:
    return tuple(sorted(f"{prefix}-{m}" for m in models for prefix in ("Staging", "Prod")))


def chosen(base: Path, head: Path, changed: list[str]) -> Scope:
    return select(base=load_project(base), head=load_project(head), changed=changed)


def test_a_change_inside_one_model_selects_its_stacks_on_both_sides(base: Path, head: Path) -> None:
    scope = chosen(base, head, ["models/solo/model.pt"])
    assert (scope.base, scope.head) == (stacks("solo"), stacks("solo"))
    assert (scope.total, scope.folders, scope.everything) == (8, ("solo",), False)


def test_a_shared_folder_selects_every_model_naming_it(base: Path, head: Path) -> None:
    scope = chosen(base, head, ["models/modelkit/training.py"])
    assert scope.head == stacks("digits", "iris", "iris-next")


def test_a_variant_model_selects_the_models_serving_it(base: Path, head: Path) -> None:
    scope = chosen(base, head, ["models/iris-next/model.pt", "models/solo/inference.py"])
    assert scope.base == scope.head == stacks("iris", "iris-next", "solo")


def test_a_change_outside_model_folders_selects_everything(base: Path, head: Path) -> None:
    for path in ("stacks/model_stack.py", "configs/prod.yaml", "models/README.md", "cdk.json"):
        scope = chosen(base, head, ["models/solo/model.pt", path])
        assert scope.everything and scope.base is None and scope.head is None
        assert f"`{path}`" in scope.reason


def test_a_deleted_model_is_built_on_the_base_only(base: Path, head: Path) -> None:
    shutil.rmtree(head / "models" / "solo")
    scope = chosen(base, head, ["models/solo/config.yaml", "models/solo/model.pt"])
    assert (scope.base, scope.head) == (stacks("solo"), ())
    assert scope.compared == stacks("solo")


def test_a_new_model_is_built_on_the_head_only(base: Path, head: Path) -> None:
    add_model(head, "fresh")
    scope = chosen(base, head, ["models/fresh/config.yaml", "models/fresh/model.pt"])
    assert (scope.base, scope.head, scope.total) == ((), stacks("fresh"), 10)


def test_a_renamed_model_is_destroyed_under_its_old_name_and_created_under_the_new(
    base: Path, head: Path
) -> None:
    (head / "models" / "solo").rename(head / "models" / "lone")
    scope = chosen(base, head, ["models/lone/config.yaml", "models/solo/config.yaml"])
    assert (scope.base, scope.head) == (stacks("solo"), stacks("lone"))


def test_a_folder_no_model_reads_selects_nothing(base: Path, head: Path) -> None:
    (head / "models" / "notes").mkdir()
    (head / "models" / "notes" / "ideas.md").write_text("later\n")
    scope = chosen(base, head, ["models/notes/ideas.md"])
    assert (scope.base, scope.head, scope.everything) == ((), (), False)


def test_variant_models_are_read_as_the_stacks_read_them(base: Path) -> None:
    # Imported here: stacks.app_stacks brings in the CDK (~1.5 CPU-s), which no other test
    # in this module needs.
    from stacks.app_stacks import _variant_model_names

    project: Project = load_project(base)
    for deployment in project.deployments():
        assert scope_module._variant_models(deployment) == _variant_model_names(deployment.spec)


def test_the_scope_survives_its_json(base: Path, head: Path) -> None:
    scope = chosen(base, head, ["models/iris-next/model.pt"])
    assert Scope.from_json(json.loads(json.dumps(scope.to_json()))) == scope
    everything = Scope(None, None, 10, reason="`app.py` changed")
    assert Scope.from_json(everything.to_json()) == everything


def test_the_comment_says_which_stacks_were_compared(base: Path, head: Path) -> None:
    line = scope_line(chosen(base, head, ["models/solo/model.pt"]))
    assert line.startswith("Compared 2 of 8 stacks (`Prod-solo`, `Staging-solo`)")
    assert "the other 6 were not synthesized because nothing they read changed" in line
    assert "`models/solo/`" in line
    assert scope_line(Scope(None, None, 10, reason="x")) == ""
    assert scope_line(None) == ""
    assert "none of the 10 stacks" in scope_line(Scope((), (), 10, ("notes",)))


def test_no_change_synthesizes_nothing(base: Path, head: Path) -> None:
    scope = chosen(base, head, [])
    assert (scope.base, scope.head, scope.everything) == ((), (), False)
    assert scope_line(scope) == "No file changed: none of the 8 stacks was synthesized."


def git(repository: Path, *command: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *command],
        cwd=repository,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def test_changed_files_are_the_diff_against_the_base_and_the_untracked_files(
    tmp_path: Path,
) -> None:
    repository = tmp_path / "repo"
    (repository / "models" / "a").mkdir(parents=True)
    (repository / "models" / "a" / "model.pt").write_text("1")
    (repository / "models" / "b.txt").write_text("gone soon")
    (repository / ".gitignore").write_text("*.log\n")
    git(repository, "init", "--quiet")
    git(repository, "add", "-A")
    git(repository, "commit", "--quiet", "-m", "base")
    (repository / "models" / "a" / "model.pt").write_text("2")  # unstaged
    (repository / "models" / "b.txt").unlink()  # deleted
    (repository / "models" / "c").mkdir()
    (repository / "models" / "c" / "new.py").write_text("")  # untracked
    (repository / "models" / "c" / "debug.log").write_text("")  # ignored
    assert changed_files(repository, "HEAD") == [
        "models/a/model.pt",
        "models/b.txt",
        "models/c/new.py",
    ]
    with pytest.raises(scope_module.ScopeError, match="no-such-ref"):
        changed_files(repository, "no-such-ref")


def test_the_bench_lists_what_differs_between_two_trees(tmp_path: Path) -> None:
    base, head = tmp_path / "base", tmp_path / "head"
    for root in (base, head):
        (root / "models" / "a").mkdir(parents=True)
        (root / "models" / "a" / "same.txt").write_text("same")
    (base / "models" / "a" / "w.pt").write_text("1")
    (head / "models" / "a" / "w.pt").write_text("2")
    (base / "gone.txt").write_text("")
    (head / "models" / "new.txt").write_text("")
    assert changed_paths(base, head) == ["gone.txt", "models/a/w.pt", "models/new.txt"]


def test_a_synth_selects_its_stacks_and_an_empty_side_is_an_empty_assembly(
    tmp_path: Path,
) -> None:
    side = Side("base", tmp_path / "code", tmp_path / "project", tmp_path / "base.out")
    command = synth_command(side, cdk="cdk", cache=tmp_path / "b", stacks=("Prod-a", "Staging-a"))
    assert command[-4:] == [
        "--context",
        f"projectRoot={tmp_path / 'project'}",
        "--context",
        "stacks=Prod-a,Staging-a",
    ]
    assert not any(part.startswith("stacks=") for part in synth_command(
        side, cdk="cdk", cache=tmp_path / "b", stacks=None
    ))  # fmt: skip
    failed = synthesize([(side, ())], cdk="false", cache=tmp_path / "b")
    assert failed == [] and read_assembly(side.output) == []
    empty_assembly(tmp_path / "again")
    assert read_assembly(tmp_path / "again") == []
