"""The architecture contracts in pyproject.toml ([tool.importlinter]) hold, and can fail.

Each contract is broken once on purpose, in a copy of the packages, by one import that goes the
wrong way: `lint-imports` (what `make lint` runs) must then fail and name that contract.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("stacks", "configs", "bundler", "ops", "bench")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def copy_packages(target: Path) -> Path:
    for name in PACKAGES:
        shutil.copytree(ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def test_the_contracts_hold_in_the_tree() -> None:
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "statement", "contract"),
    [
        # config reaching up into the stacks that read it
        ("configs/base.py", "import stacks.model_stack", "ops and bench above stacks"),
        # the stacks importing an operational tool
        ("stacks/model_stack.py", "import ops.verify", "ops and bench above stacks"),
        # a construct importing the stack that composes it
        ("stacks/constructs/endpoint.py", "import stacks.model_stack", "stacks compose constructs"),
        # ops reading construct code instead of the template contract
        ("ops/summary.py", "import stacks.constructs.alarms", "ops reads the template contract"),
        # the metadata contract pulling in the CDK
        ("stacks/metadata.py", "import aws_cdk", "free of the CDK"),
        # a cycle between two sibling modules of the bundler (cache already imports layout)
        ("bundler/layout.py", "import bundler.cache", "no import cycles"),
    ],
)
def test_an_import_the_wrong_way_breaks_its_contract(
    tmp_path: Path, module: str, statement: str, contract: str
) -> None:
    root = copy_packages(tmp_path)
    path = root / module
    path.write_text(path.read_text() + f"\n{statement}  # deliberately the wrong way\n")
    result = lint(root)
    assert result.returncode != 0
    broken = [line for line in result.stdout.splitlines() if " BROKEN" in line]
    assert any(contract in line for line in broken), result.stdout
