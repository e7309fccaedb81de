"""The fire drill, scaled down: one model (iris), Prod's canary, `--fault errors=30%`, with the
real CDK CLI against the emulator on 127.0.0.1. Each expected event must happen, in order: the
canary fleet serves, the error-rate alarm goes to ALARM (and alarm history says so), exactly one
page with the alarm's name reaches the drill's loopback HTTP subscriber, SageMaker rolls back,
the endpoint is back on its old EndpointConfig, `ops verify` fails naming the alarm, and the good
version completes. Afterwards nothing the drill started is running. A model without rollback
alarms is refused in one line, exit 2, before an emulator is started."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import ops.emulator as emulator
from tests.conftest import ROOT, write_yaml

MODEL = "iris"
STACK = f"Prod-{MODEL}"
ALARM = f"prod-{MODEL}-primary-error-rate-5xx"
DRILL_TIMEOUT_S = 900


def one_model(root: Path) -> Path:
    """configs/ and the iris model (plus the shared library): two stacks to deploy, not four."""
    shutil.copytree(ROOT / "configs", root / "configs")
    for folder in (ROOT / "models").iterdir():
        if folder.is_dir() and (folder.name == MODEL or not (folder / "config.yaml").exists()):
            shutil.copytree(folder, root / "models" / folder.name)
    return root


def drill(root: Path, work: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """`python -m ops drill` on `root`. A drill killed for its timeout never runs its own
    clean-up, so the emulator it started (its own process group, model servers included) is
    stopped here; otherwise whatever the drill leaves running is for the tests to see."""
    command = [sys.executable, "-m", "ops", "drill", "--model", MODEL, *arguments]
    try:
        return subprocess.run(
            [*command, "--root", str(root), "--work", str(work)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=DRILL_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        emulator.stop(work / STACK / "emulator.json")
        raise


@pytest.fixture(scope="module")
def drilled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any], Path]:
    base = tmp_path_factory.mktemp("drill")
    work = base / "work"
    result = drill(one_model(base / "project"), work, "--fault", "errors=30%")
    report = json.loads((work / STACK / "timeline.json").read_text())
    return result, report, work / STACK


def first(report: dict[str, Any], phase: str, kind: str, contains: str = "") -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        e
        for e in report["events"]
        if e["phase"] == phase and e["kind"] == kind and contains in e["text"]
    ]
    assert found, f"no {phase} {kind} event containing {contains!r}"
    return found[0]


def test_each_expected_event_happens_in_order(drilled: tuple[Any, dict[str, Any], Path]) -> None:
    result, report, _ = drilled
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert report["passed"] and all(check["ok"] for check in report["checks"])
    configs = report["configs"]
    serving = first(report, "faulty", "fleet-serving", configs["faulty"])
    fired = first(report, "faulty", "alarm", f"{ALARM}: OK -> ALARM")
    first(report, "faulty", "alarm-history", "to ALARM")
    pages = [
        e
        for e in report["events"]
        if e["kind"] == "page" and e["text"].startswith(f"{ALARM}: OK -> ALARM")
    ]
    assert len(pages) == 1 and ALARM in pages[0]["text"]
    rollback = first(report, "faulty", "rollback", ALARM)
    back = [
        e
        for e in report["events"]
        if e["phase"] == "faulty"
        and e["text"] == f"InService on {configs['before']}"
        and e["at"] >= rollback["at"]
    ]
    assert back, "the endpoint did not return to its previous EndpointConfig"
    verify_failed = first(report, "faulty", "verify-failed", f"`{ALARM}`")
    good_serving = first(report, "good", "fleet-serving", configs["good"])
    completed = first(report, "good", "endpoint", f"InService on {configs['good']}")
    verify_passed = first(report, "good", "verify-passed")
    order = [serving, fired, rollback, back[0], verify_failed, good_serving, completed]
    times = [event["at"] for event in [*order, verify_passed]]
    assert times == sorted(times)
    assert fired["at"] <= pages[0]["at"]


def test_the_picture_and_the_summary_show_the_rollback(
    drilled: tuple[Any, dict[str, Any], Path],
) -> None:
    _, _, work = drilled
    picture = (work / "timeline.svg").read_text()
    assert picture.startswith("<svg") and "faulty: rollback" in picture
    assert ALARM in picture and "#c62828" in picture  # the alarm's ALARM state is drawn
    assert "| ✅ | rollback started |" in (work / "timeline.md").read_text()


def test_nothing_the_drill_started_is_running(drilled: tuple[Any, dict[str, Any], Path]) -> None:
    _, report, work = drilled
    assert emulator.status(work / "emulator.json") is None
    started = first(report, "setup", "emulator")  # the emulator's own process group
    found = re.search(r"\(pid (\d+)\)", started["text"])
    assert found
    with pytest.raises(ProcessLookupError):
        os.killpg(int(found.group(1)), 0)  # the emulator and every model server it started


@pytest.mark.parametrize(
    ("rollback", "fault", "says"),
    [
        # none at all: the project's own check refuses to synthesize it
        ([], "errors=30%", f"drill: {STACK} does not synthesize: ERROR The endpoint rolls out"),
        # none on the fault's metric: the drill refuses
        (
            ["error_rate_5xx"],
            "latency=900ms",
            f"drill: {STACK} has no rollback alarm on ModelLatency",
        ),
    ],
)
def test_a_model_without_rollback_alarms_is_refused(
    tmp_path: Path, rollback: list[str], fault: str, says: str
) -> None:
    root = one_model(tmp_path / "project")
    config = root / "models" / MODEL / "config.yaml"
    data = yaml.safe_load(config.read_text())
    data["alarms"] = {
        name: {"rollback": name in rollback} for name in ("error_rate_5xx", "model_latency_p99")
    }
    write_yaml(config, data)
    result = drill(root, tmp_path / "work", "--fault", fault)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith(says), result.stderr
    assert result.stderr.count("\n") == 1
    assert emulator.status(tmp_path / "work" / STACK / "emulator.json") is None
    assert not (tmp_path / "work" / STACK / "emulator.log").exists()  # none was started
