"""The PR workflow's regression gate: `ops diff`'s outcome reaches the gate job, which fails on a
model below its bar or behind the base until the PR has the `allow-regression` label, exactly as
the destructive-change gate does with `allow-destructive`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gate_support import gate, render_step, workflow

REGRESSION = "destructive=false\nregression=true\n"
DESTRUCTIVE = "destructive=true\nregression=false\n"
CLEAN = "destructive=false\nregression=false\n"


def test_the_diff_job_passes_the_outcome_to_the_gate() -> None:
    jobs = workflow()["jobs"]
    assert jobs["diff"]["outputs"]["regression"] == "${{ steps.render.outputs.regression }}"
    assert jobs["gate"]["needs"] == "diff"
    assert workflow()["env"]["REGRESSION_LABEL"] == "allow-regression"
    assert {"labeled", "unlabeled"} <= set(workflow()["on"]["pull_request"]["types"])


def test_the_render_step_asks_make_diff_for_the_outcome(tmp_path: Path) -> None:
    code, outputs = render_step(tmp_path, status=0, outcome=CLEAN)
    args = (tmp_path / "make-args.txt").read_text()
    assert code == 0 and outputs == {"destructive": "false", "regression": "false"}
    assert "--fail-on-regression" in args and "--outcome diff-outcome.env" in args


@pytest.mark.parametrize(
    ("outcome", "key"), [(REGRESSION, "regression"), (DESTRUCTIVE, "destructive")]
)
def test_a_gate_outcome_is_not_a_failed_diff(tmp_path: Path, outcome: str, key: str) -> None:
    # make reports ops diff's exit 3 or 4 as 2; the outcome file tells them apart.
    code, outputs = render_step(tmp_path, status=2, outcome=outcome)
    assert code == 0 and outputs[key] == "true"


def test_a_failed_diff_fails_the_step(tmp_path: Path) -> None:
    code, outputs = render_step(tmp_path, status=2, outcome=None)
    assert code == 2 and outputs == {}


def test_a_regression_fails_the_gate_until_the_label_is_added() -> None:
    outputs = {"destructive": "false", "regression": "true"}
    failed = gate(outputs=outputs, labels=set())
    assert failed == ["Quality regressions need the allow-regression label"]
    assert gate(outputs=outputs, labels={"allow-regression"}) == []
    assert gate(outputs=outputs, labels={"allow-destructive"}) == failed


def test_each_label_clears_only_its_own_gate() -> None:
    both = {"destructive": "true", "regression": "true"}
    assert len(gate(outputs=both, labels=set())) == 2
    assert gate(outputs=both, labels={"allow-destructive"}) == [
        "Quality regressions need the allow-regression label"
    ]
    assert gate(outputs=both, labels={"allow-destructive", "allow-regression"}) == []
    assert gate(outputs={"destructive": "false", "regression": "false"}, labels=set()) == []
