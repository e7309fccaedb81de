"""The test tiers' order: pytest-xdist is told to keep the collection order, and the collection
is heaviest tier first, each tier's modules and tests in the order they were collected."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from tests.conftest import ROOT, heaviest_tier_first

PRINT_VARIABLE = "print-%: ; @printf '%s\\n' '$($*)'"  # `make print-X` prints variable X


def items(*paths: str) -> list[pytest.Item]:
    return [cast(pytest.Item, SimpleNamespace(path=ROOT / "tests" / p)) for p in paths]


def test_integration_then_synth_then_unit_in_collection_order() -> None:
    collected = items(
        "unit/test_a.py", "synth/test_b.py", "unit/test_c.py", "integration/test_d.py",
        "synth/test_a.py", "integration/test_b.py",
    )  # fmt: skip
    ordered = [
        str(Path(i.path).relative_to(ROOT / "tests")) for i in heaviest_tier_first(collected)
    ]
    assert ordered == [
        "integration/test_d.py", "integration/test_b.py", "synth/test_b.py", "synth/test_a.py",
        "unit/test_a.py", "unit/test_c.py",
    ]  # fmt: skip


def test_make_keeps_the_collection_order() -> None:
    """Without --no-loadscope-reorder, xdist orders modules by their number of tests. (`make -n
    check` would run lint for real: its recipe calls $(MAKE).)"""
    parallel = subprocess.run(
        ["make", "--no-print-directory", f"--eval={PRINT_VARIABLE}", "print-PARALLEL"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "--dist loadfile --no-loadscope-reorder" in parallel
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", "test"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert f"-m pytest {parallel.strip()}" in dry.stdout
    check = (ROOT / "Makefile").read_text().split("\ncheck: setup", 1)[1].split("\n\n", 1)[0]
    assert "-m pytest tests/unit tests/synth -q $(PARALLEL)" in check
