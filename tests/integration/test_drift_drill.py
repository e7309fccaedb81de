"""The drill's drift scenario end to end: iris in Prod, the real CDK CLI and the emulator.

In-distribution traffic is captured and `ops drift` finds no violation, no drift alarm fires, no
page; then traffic shifted by two standard deviations is captured, `ops drift` reports
baseline_drift_check violations and publishes the distances, a drift alarm goes to ALARM and its
page reaches the drill's loopback subscriber. Afterwards nothing the drill started is running."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import ops.emulator as emulator
from tests.integration.test_drill import STACK, drill, one_model


@pytest.fixture(scope="module")
def drifted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any], Path]:
    base = tmp_path_factory.mktemp("drift")
    work = base / "work"
    result = drill(one_model(base / "project"), work, "--fault", "drift=2sd")
    report = json.loads((work / STACK / "drift.json").read_text())
    return result, report, work / STACK


def test_every_expectation_is_met(drifted: tuple[Any, dict[str, Any], Path]) -> None:
    result, report, _ = drifted
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    met = {name: ok for name, ok, _ in report["checks"]}
    assert met == {
        "in-distribution: data captured": True,
        "in-distribution: no violation": True,
        "in-distribution: no drift alarm": True,
        "in-distribution: no drift page": True,
        "shifted: data captured": True,
        "shifted: baseline_drift_check violation": True,
        "shifted: drift metric published": True,
        "shifted: drift alarm OK -> ALARM": True,
        "shifted: page reached the on-call": True,
    }


def test_each_phase_leaves_model_monitors_files(drifted: tuple[Any, dict[str, Any], Path]) -> None:
    _, _, work = drifted
    calm = json.loads(
        (work / "drift" / "in-distribution" / STACK / "constraint_violations.json").read_text()
    )
    assert calm == {"violations": []}
    shifted = work / "drift" / "shifted" / STACK
    violations = json.loads((shifted / "constraint_violations.json").read_text())["violations"]
    assert {v["constraint_check_type"] for v in violations} == {"baseline_drift_check"}
    pictures = sorted(p.name for p in shifted.glob("*.png"))
    assert pictures and all(f"{v['feature_name']}.png" in pictures for v in violations)
    assert "baseline_drift_check" in (shifted / "report.md").read_text()


def test_nothing_is_left_running(drifted: tuple[Any, dict[str, Any], Path]) -> None:
    _, _, work = drifted
    assert emulator.status(work / "emulator.json") is None
