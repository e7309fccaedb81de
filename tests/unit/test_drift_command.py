"""`ops drift` and the drill's drift fault: their input, and each reason they cannot check."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ops.__main__ import main
from ops.drift import command, target
from ops.drill import drift
from ops.drill.faults import FaultError, parse_fault

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "since"),
    [
        (None, "2024-05-01T11:00:00Z"),  # an hourly schedule's window
        ("10m", "2024-05-01T11:50:00Z"),
        ("90s", "2024-05-01T11:58:30Z"),
        ("2h", "2024-05-01T10:00:00Z"),
        ("2024-05-01T11:30:00Z", "2024-05-01T11:30:00Z"),
        ("2024-05-01T13:30:00+02:00", "2024-05-01T11:30:00Z"),
    ],
)
def test_since(text: str | None, since: str) -> None:
    assert command.since_of(text, now=NOW) == since


def test_bad_since_says_what_would_do() -> None:
    with pytest.raises(target.DriftInputError, match=r"--since 'yesterday': give a time"):
        command.since_of("yesterday", now=NOW)


def test_no_emulator_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with pytest.raises(target.DriftInputError, match="no emulator is running"):
        command.emulator_url(tmp_path / "state.json")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:4566")
    assert command.emulator_url(tmp_path / "state.json") == "http://localhost:4566"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "nope"], "unknown model 'nope'; use one of: digits, iris"),
        (["--model", "iris", "--env", "qa"], "unknown environment 'qa'"),
        (["--model", "iris"], "no emulator is running"),
    ],
)
def test_command_exits_2_in_one_line(
    argv: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert main(["drift", *argv, "--state", str(tmp_path / "none.json")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_missing_assembly_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(target.DriftInputError, match="make deploy-local KEEP=1"):
        target.resolve(assembly=tmp_path, stack_name="Prod-iris", client=None)


def _assembly(folder: Path, resources: dict[str, object]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Prod-iris.template.json").write_text(json.dumps({"Resources": resources}))
    manifest = {
        "artifacts": {
            "Prod-iris": {
                "type": "aws:cloudformation:stack",
                "properties": {"templateFile": "Prod-iris.template.json"},
            }
        }
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_monitoring_off_is_named(tmp_path: Path) -> None:
    endpoint = {"Type": "AWS::SageMaker::Endpoint", "Properties": {"EndpointName": "prod-iris"}}
    assembly = _assembly(tmp_path / "out", {"Endpoint": endpoint})
    with pytest.raises(target.DriftInputError, match="monitoring is not enabled for Prod-iris"):
        target.resolve(assembly=assembly, stack_name="Prod-iris", client=None)


def test_drift_alarms_are_found_by_metric(tmp_path: Path) -> None:
    def alarm(name: str, metric: str) -> dict[str, object]:
        return {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {"AlarmName": name, "MetricName": metric},
        }

    math = {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": "any-drift",
            "Metrics": [
                {"Id": "a", "MetricStat": {"Metric": {"MetricName": "feature_baseline_drift_x"}}}
            ],
        },
    }
    resources = {
        "Drift": alarm("drift-sepal", "feature_baseline_drift_sepal_length"),
        "Errors": alarm("errors", "Invocation5XXErrors"),
        "Math": math,
        "Topic": {"Type": "AWS::SNS::Topic"},
    }
    names, topic = drift.drift_alarms(_assembly(tmp_path / "out", resources), "Prod-iris")
    assert sorted(names) == ["any-drift", "drift-sepal"] and topic == "Topic"


def test_drift_fault() -> None:
    fault = parse_fault("drift=2sd")
    assert (fault.kind, fault.shift, fault.metric) == ("drift", 2.0, "feature_baseline_drift_")
    assert parse_fault("drift=-1.5").shift == -1.5
    assert "every feature +2 sd" in fault.describe()
    for bad in ("drift=0", "drift=far", "drift=11sd"):
        with pytest.raises(FaultError, match="shift in standard deviations"):
            parse_fault(bad)
