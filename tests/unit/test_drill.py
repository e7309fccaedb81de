"""The fire drill's parts that need no AWS: fault parsing and injection, reading the target from
a template, the verdict (an alarm that never fires fails the drill), rendering, and bad input
(one line, exit 2, nothing started)."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

import ops.emulator as emulator
from ops import deploy_local
from ops.drill import command, render
from ops.drill.faults import FaultError, parse_fault, prepare_copy, wrapper_source
from ops.drill.pager import Pager
from ops.drill.target import Alarm, DrillInputError, target_of
from ops.drill.timeline import Recorder, Sample, Timeline
from ops.drill.verdict import judge, passed
from ops.emulator import behaviours
from stacks.templates import StackTemplate

ERROR_ALARM = "prod-iris-primary-error-rate-5xx"
LATENCY_ALARM = "prod-iris-primary-model-latency-p99"

# --------------------------------------------------------------------------------------------
# Faults


@pytest.mark.parametrize(
    ("text", "kind", "share", "seconds", "metric"),
    [
        ("errors=30%", "errors", 0.3, 0.0, "Invocation5XXErrors"),
        ("errors=100%", "errors", 1.0, 0.0, "Invocation5XXErrors"),
        ("latency=900ms", "latency", 0.0, 0.9, "ModelLatency"),
        ("latency=2s", "latency", 0.0, 2.0, "ModelLatency"),
    ],
)
def test_faults_parse(text: str, kind: str, share: float, seconds: float, metric: str) -> None:
    fault = parse_fault(text)
    assert (fault.kind, fault.share, fault.seconds, fault.metric) == (kind, share, seconds, metric)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("crash=1", "unknown fault 'crash=1'; use one of: errors=<percent>"),
        ("errors", "unknown fault"),
        ("errors=0%", "give a share of requests, 1%-100%"),
        ("errors=130%", "give a share of requests, 1%-100%"),
        ("errors=0.3", "give a share of requests"),
        ("latency=fast", "give a positive duration"),
        ("latency=45s", "at most 30s"),
    ],
)
def test_bad_faults_say_what_would_do(text: str, says: str) -> None:
    with pytest.raises(FaultError, match=says.replace("(", r"\(")) as raised:
        parse_fault(text)
    assert "\n" not in str(raised.value)


@pytest.fixture
def handler(tmp_path: Path) -> Iterator[Path]:
    """A model folder whose handler answers every prediction with "ok"."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "_drill_original.py").write_text(
        "def model_fn(model_dir):\n    return 'model'\n\n"
        "def predict_fn(data, model):\n    return 'ok'\n"
    )
    sys.path.insert(0, str(code))
    yield code
    sys.path.remove(str(code))
    for name in ("_drill_original", "drill_wrapper"):
        sys.modules.pop(name, None)


def load_wrapper(code: Path, source: str) -> Any:
    (code / "drill_wrapper.py").write_text(source)
    sys.modules.pop("drill_wrapper", None)
    return importlib.import_module("drill_wrapper")


def test_the_errors_fault_fails_its_share_of_requests(handler: Path) -> None:
    wrapper = load_wrapper(handler, wrapper_source(fault=parse_fault("errors=30%"), label="t"))
    assert wrapper.model_fn("/opt/ml/model") == "model"  # the model's own handlers re-exported
    failed = 0
    for _ in range(100):
        try:
            assert wrapper.predict_fn([1], "model") == "ok"
        except RuntimeError as error:
            assert "drill fault" in str(error)
            failed += 1
    assert failed == 30


def test_the_latency_fault_slows_every_request_and_the_good_version_nothing(
    handler: Path,
) -> None:
    slow = load_wrapper(handler, wrapper_source(fault=parse_fault("latency=50ms"), label="t"))
    started = time.monotonic()
    assert [slow.predict_fn([1], "m") for _ in range(4)] == ["ok"] * 4
    assert time.monotonic() - started >= 0.2
    good = load_wrapper(handler, wrapper_source(fault=None, label="good"))
    assert [good.predict_fn([1], "m") for _ in range(10)] == ["ok"] * 10


def test_the_copy_wraps_the_entry_point_and_keeps_the_rest(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    copy = prepare_copy(
        root=root,
        dest=tmp_path / "copy",
        model="iris",
        entry_point="inference.py",
        fault=parse_fault("errors=30%"),
        label="faulty",
    )
    code = copy / "models" / "iris"
    assert (code / "_drill_original.py").read_text() == (
        root / "models" / "iris" / "inference.py"
    ).read_text()
    assert "30% of requests fail" in (code / "inference.py").read_text()
    assert (code / "config.yaml").read_text() == (root / "models/iris/config.yaml").read_text()
    assert (copy / "configs" / "prod.yaml").is_file()
    with pytest.raises(FaultError, match=r"has no entry point serve\.py"):
        prepare_copy(
            root=root,
            dest=tmp_path / "other",
            model="iris",
            entry_point="serve.py",
            fault=None,
            label="good",
        )


# --------------------------------------------------------------------------------------------
# The target, from a template


def stack(*, rollback: list[str], routing: str = "CANARY") -> StackTemplate:
    dims = [
        {"Name": "EndpointName", "Value": "prod-iris"},
        {"Name": "VariantName", "Value": "primary"},
    ]
    resources: dict[str, Any] = {
        "Endpoint": {
            "Type": "AWS::SageMaker::Endpoint",
            "Properties": {
                "EndpointName": "prod-iris",
                "DeploymentConfig": {
                    "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": n} for n in rollback]},
                    "BlueGreenUpdatePolicy": {
                        "TrafficRoutingConfiguration": {
                            "Type": routing,
                            "WaitIntervalInSeconds": 600,
                        }
                    },
                },
            },
        },
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
        "Errors": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": ERROR_ALARM,
                "Threshold": 1,
                "Metrics": [
                    {"Id": "expr_1", "Expression": "100 * errors / invocations"},
                    {
                        "Id": "errors",
                        "MetricStat": {
                            "Metric": {"MetricName": "Invocation5XXErrors", "Dimensions": dims}
                        },
                    },
                    {
                        "Id": "invocations",
                        "MetricStat": {"Metric": {"MetricName": "Invocations", "Dimensions": dims}},
                    },
                ],
            },
        },
        "Latency": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": LATENCY_ALARM,
                "MetricName": "ModelLatency",
                "Threshold": 500000,
                "Dimensions": [*dims, {"Name": "EndpointConfigName", "Value": "c"}],
            },
        },
    }
    template = {"Resources": resources}
    return StackTemplate("Prod-iris", Path("Prod-iris.template.json"), template)


def test_the_target_names_the_alarm_for_each_fault() -> None:
    target = target_of(stack(rollback=[ERROR_ALARM, LATENCY_ALARM]))
    assert (target.endpoint, target.traffic_routing, target.bake_seconds) == (
        "prod-iris",
        "CANARY",
        600,
    )
    assert target.alarm_for(parse_fault("errors=30%")) == Alarm(
        ERROR_ALARM, "Invocation5XXErrors", 1.0, "%", False
    )
    assert target.alarm_for(parse_fault("latency=900ms")) == Alarm(
        LATENCY_ALARM, "ModelLatency", 500.0, "ms", True
    )
    assert target.topic_logical_id == "Topic"


def test_a_stack_without_the_right_rollback_alarm_cannot_be_drilled() -> None:
    with pytest.raises(DrillInputError, match="has no rollback alarms"):
        target_of(stack(rollback=[]))
    target = target_of(stack(rollback=[ERROR_ALARM]))
    with pytest.raises(DrillInputError, match="no rollback alarm on ModelLatency"):
        target.alarm_for(parse_fault("latency=900ms"))


# --------------------------------------------------------------------------------------------
# The verdict


def drilled(*, alarm_fires: bool = True) -> Timeline:
    """A timeline as a drill records it; the alarm fires or, if not, the faulty version
    completes as if nothing were wrong."""
    alarms = target_of(stack(rollback=[ERROR_ALARM, LATENCY_ALARM])).rollback_alarms
    timeline = Timeline(
        started=1000.0, scale=60, period=1.0, alarms=alarms, fault_alarm=ERROR_ALARM
    )
    timeline.configs.update(before="config-a", faulty="config-b", good="config-c")
    events = [
        (1000.5, "faulty", "endpoint", "InService on config-a"),
        (1008, "faulty", "deploying", "new fleet from config-b"),
        (1009, "faulty", "fleet-serving", "new fleet config-b serving (10%)"),
    ]
    if alarm_fires:
        events += [
            (1011, "faulty", "alarm", f"{ERROR_ALARM}: OK -> ALARM"),
            (1011, "faulty", "alarm-history", f"{ERROR_ALARM}: Alarm updated from OK to ALARM"),
            (1011.1, "faulty", "page", f"{ERROR_ALARM}: OK -> ALARM (ALARM: ...)"),
            (1011.5, "faulty", "rollback", f"rolled back: alarm(s) in ALARM: {ERROR_ALARM}"),
            (1011.5, "faulty", "endpoint", "InService on config-a"),
            (1020, "faulty", "verify-failed", f"ops verify failed: ... `{ERROR_ALARM}`"),
        ]
    else:
        events += [
            (1011, "faulty", "alarm", f"{ERROR_ALARM}: INSUFFICIENT_DATA -> OK"),
            (1030, "faulty", "endpoint", "InService on config-b"),
            (1035, "faulty", "verify-passed", "ops verify passed"),
        ]
    events += [
        (1040, "good", "fleet-serving", "new fleet config-c serving (12%)"),
        (1060, "good", "endpoint", "InService on config-c"),
        (1065, "good", "verify-passed", "ops verify passed"),
    ]
    for at, phase, kind, text in events:
        timeline.add(phase, kind, text, at=at)
    for second in range(1000, 1066):
        timeline.samples[float(second)] = Sample(float(second), 30, 3, 1, 20.0)
    timeline.states += [(1000.0, ERROR_ALARM, "OK"), (1011.0, ERROR_ALARM, "ALARM")]
    timeline.states += [(1012.0, ERROR_ALARM, "OK"), (1000.0, LATENCY_ALARM, "OK")]
    return timeline


def test_a_drill_with_every_expected_event_passes() -> None:
    checks = judge(drilled())
    assert passed(checks), [c.problem for c in checks if not c.ok]


def test_an_alarm_that_never_fires_fails_the_drill() -> None:
    """An alarm on a metric name or dimension SageMaker does not publish stays OK or
    INSUFFICIENT_DATA (tests/unit/test_emulator_alarms.py shows the evaluator does so): the
    faulty version then completes, and the drill fails, saying why."""
    checks = judge(drilled(alarm_fires=False))
    assert not passed(checks)
    missing = {c.name: c.problem for c in checks if not c.ok}
    assert "the alarm never went to ALARM" in str(missing["alarm OK -> ALARM (in alarm history)"])
    assert "ops verify fails and names the alarm" in missing


def test_a_page_without_the_alarm_or_a_second_page_does_not_count() -> None:
    timeline = drilled()
    timeline.add("faulty", "page", f"{ERROR_ALARM}: OK -> ALARM (again)", at=1015)
    checks = {c.name: c for c in judge(timeline)}
    assert not checks["one page for the alarm reached the on-call"].ok


def test_the_recorder_sees_an_alarm_that_fired_and_recovered_between_two_polls(
    aws_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a loaded machine a poll can take longer than an alarm stays in ALARM (a period is a
    second here): the states read at the second poll are as at the first, yet the alarm paged
    and rolled back in between. The recorder takes the changes from alarm history."""
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "123456789012")
    with behaviours.installed(), mock_aws():
        cloudwatch = boto3.client("cloudwatch")
        for name in (ERROR_ALARM, LATENCY_ALARM):
            cloudwatch.put_metric_alarm(
                AlarmName=name,
                Namespace="AWS/SageMaker",
                MetricName="ModelLatency",
                Statistic="Average",
                Period=60,
                EvaluationPeriods=1,
                Threshold=1.0,
                ComparisonOperator="GreaterThanThreshold",
            )
            cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="drill start")
        target = target_of(stack(rollback=[ERROR_ALARM, LATENCY_ALARM]))
        timeline = Timeline(
            started=time.time(), scale=60, period=1.0, alarms=target.rollback_alarms,
            fault_alarm=ERROR_ALARM,
        )  # fmt: skip
        clients: Any = boto3.client  # the recorder asks for services by name
        recorder = Recorder(timeline=timeline, target=target, client=clients, pager=Pager())
        recorder._poll_alarms()
        for state in ("ALARM", "OK"):
            cloudwatch.set_alarm_state(AlarmName=ERROR_ALARM, StateValue=state, StateReason="t")
        recorder._poll_alarms()
        recorder._poll_alarms()
    changes = [e.text for e in timeline.events if e.kind == "alarm"]
    assert changes == [
        f"{ERROR_ALARM}: None -> OK",
        f"{LATENCY_ALARM}: None -> OK",
        f"{ERROR_ALARM}: OK -> ALARM",
        f"{ERROR_ALARM}: ALARM -> OK",
    ]
    assert [state for _, name, state in timeline.states if name == ERROR_ALARM] == [
        "OK",
        "ALARM",
        "OK",
    ]


# --------------------------------------------------------------------------------------------
# Rendering


def test_the_picture_is_svg_with_the_thresholds_and_alarm_states() -> None:
    timeline = drilled()
    picture = render.svg(timeline, title="Fire drill: Prod-iris")
    root = ET.fromstring(picture)  # noqa: S314 - our own output: it must be well-formed
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "alarm threshold 1%" in picture and "alarm threshold 500 ms" in picture
    assert ERROR_ALARM in picture and "faulty: rollback" in picture
    markdown = render.markdown(timeline, judge(timeline), title="t", picture="p.svg")
    assert markdown.startswith("### Fire drill: t: passed")
    assert "| ✅ | rollback started |" in markdown
    text = render.text(timeline, judge(timeline))
    assert "ok     11.5s  rollback started" in text
    report = json.loads(render.json_report(timeline, judge(timeline)))
    assert report["passed"] and report["fault_alarm"] == ERROR_ALARM
    assert [c["at"] for c in report["checks"]][:2] == [9.0, 11.0]


# --------------------------------------------------------------------------------------------
# Bad input: one line, exit 2, nothing started


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--model", "nope"], "drill: unknown model 'nope'; use one of: digits, iris"),
        (["--model", "iris", "--fault", "crash=1"], "drill: unknown fault 'crash=1'"),
        (["--model", "iris", "--env", "qa"], "drill: unknown environment 'qa'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    arguments: list[str],
    says: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[str] = []
    monkeypatch.setattr(emulator, "start", lambda *a, **k: started.append("emulator"))
    monkeypatch.setattr(deploy_local, "synth", lambda *a, **k: started.append("synth"))
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    assert command.run(parser.parse_args(arguments)) == 2
    err = capsys.readouterr().err
    assert err.startswith(says) and err.count("\n") == 1
    assert started == []
