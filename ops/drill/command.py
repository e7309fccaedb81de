"""Fire drill: a bad model version is caught by its alarms, pages the on-call and is rolled back.

`python -m ops drill --model iris --fault errors=30%` (or `latency=900ms`; `--env staging` for an
all-at-once rollout) runs on the local AWS emulator with the real CDK CLI: deploy `Staging-*`
and `Prod-*` as they are; subscribe a loopback HTTP pager to the stack's paging topic; drive the
model's example.json at its endpoint; `cdk deploy` a faulty version of the model (a copy of the
project whose handler fails or is slow); record what AWS reports until it is rolled back; run
`ops verify` (which must fail naming the alarm); then deploy a good version through the same
rollout and see it complete. Prints the timeline, writes it as SVG and Markdown under
.cache/drill/<stack>/. Everything started is stopped at the end.

`--fault drift=2sd` runs the drift scenario instead (`ops.drill.drift`): in-distribution and
then shifted traffic, checked by `ops drift`, must end in a drift alarm and a page.

Exit codes: 0 every expected event happened; 1 one did not (or a step failed); 2 bad input.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from botocore.config import Config

import ops.emulator as emulator
from ops import deploy_local
from ops.drill import drift, render
from ops.drill.faults import prepare_copy
from ops.drill.pager import Pager
from ops.drill.plan import DRILL_DIR, ROOT, Plan, Request, decide, request
from ops.drill.target import DrillInputError
from ops.drill.timeline import Recorder, Timeline
from ops.drill.traffic import Traffic
from ops.drill.verdict import judge, passed

# Models the emulator keeps loaded at once (on one TorchServe): the old fleet, the faulty and
# the good version.
MODEL_SERVERS = 3
# Requests a second: enough that the 10 % canary of an endpoint gets a few each alarm period;
# fewer while a new fleet starts, which no request reaches and which then starts sooner.
RATE = 30.0
QUIET_RATE = 5.0
SETTLE_PERIODS = 30  # alarm periods to wait for the rollback alarms to be OK between versions
AFTER_PERIODS = 3  # alarm periods of traffic after the good version completed


def _session(url: str) -> Any:
    config = Config(retries={"total_max_attempts": 1}, read_timeout=70, connect_timeout=5)
    return emulator.clients(url, config=config)


def _wait(condition: Any, *, seconds: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())


def _logged(plan: Plan, name: str, text: str) -> Path:
    path = plan.work / f"{name}.log"
    path.write_text(text)
    return path


def _deploy(plan: Plan, timeline: Timeline, env: dict[str, str], phase: str, out: Path) -> None:
    print(f"drill: cdk deploy {plan.stack}, {phase} version", flush=True)
    try:
        output = deploy_local.deploy(env, out, stacks=plan.stack)
        log = _logged(plan, f"{phase}-deploy", output)
        timeline.add(phase, "deploy-result", f"cdk deploy succeeded (log {log.name})")
    except deploy_local.StepFailed as error:
        log = _logged(plan, f"{phase}-deploy", str(error))
        last = [line for line in str(error).splitlines() if "ROLLBACK" in line or "❌" in line]
        summary = last[-1].strip() if last else str(error).splitlines()[0]
        timeline.add(phase, "deploy-result", f"cdk deploy failed: {summary} (log {log.name})")


def _verify(
    plan: Plan, timeline: Timeline, env: dict[str, str], phase: str, out: Path, root: Path
) -> None:
    try:
        output = deploy_local.verify(
            env, out, stacks=plan.stack, smoke=phase == "good", project_root=root
        )
        _logged(plan, f"{phase}-verify", output)
        timeline.add(phase, "verify-passed", "ops verify passed")
    except deploy_local.StepFailed as error:
        _logged(plan, f"{phase}-verify", str(error))
        problems = [line[2:] for line in str(error).splitlines() if line.startswith("- `")]
        timeline.add(phase, "verify-failed", "ops verify failed: " + "; ".join(problems))


def _alarm_history(plan: Plan, timeline: Timeline, client: Any) -> None:
    history = client("cloudwatch").describe_alarm_history(
        AlarmName=plan.alarm.name, HistoryItemType="StateUpdate", MaxRecords=50
    )["AlarmHistoryItems"]
    for item in reversed(history):
        summary = item.get("HistorySummary", "")
        if "to ALARM" in summary and item["Timestamp"].timestamp() >= timeline.started:
            at = item["Timestamp"].timestamp()
            timeline.add("faulty", "alarm-history", f"{plan.alarm.name}: {summary}", at=at)


def _outbox(plan: Plan, timeline: Timeline, folder: Path, good_started: float) -> None:
    for path in sorted(folder.glob("*.json")):
        entry = json.loads(path.read_text())
        at = int(path.name.split("-", 1)[0]) / 1e9
        phase = "good" if at >= good_started else "faulty" if at >= timeline.started else "setup"
        to = f"{entry.get('protocol')}:{entry.get('endpoint')}"
        timeline.add(phase, "outbox", f"to {to}: {entry.get('subject')}", at=at)


def _alarms_ok(plan: Plan, client: Any) -> bool:
    names = [alarm.name for alarm in plan.target.rollback_alarms]
    found = client("cloudwatch").describe_alarms(AlarmNames=names)["MetricAlarms"]
    return all(alarm["StateValue"] == "OK" for alarm in found)


def _endpoint_config(plan: Plan, client: Any) -> str:
    endpoint = client("sagemaker").describe_endpoint(EndpointName=plan.target.endpoint)
    return str(endpoint["EndpointConfigName"])


def _topic(plan: Plan, client: Any) -> str:
    if plan.target.topic_logical_id is None:
        raise DrillInputError(f"{plan.stack} has no SNS topic to page through")
    found = client("cloudformation").describe_stack_resource(
        StackName=plan.stack, LogicalResourceId=plan.target.topic_logical_id
    )
    return str(found["StackResourceDetail"]["PhysicalResourceId"])


def _versions(asked: Request) -> dict[str, tuple[Path, Path]]:
    """Synthesize the faulty and the good version (each a project copy): (root, assembly)."""
    env = deploy_local.cdk_environment("http://localhost:1")  # synth calls no AWS API

    def build(phase: str) -> tuple[Path, Path]:
        root = prepare_copy(
            root=asked.root,
            dest=asked.work / f"{phase}-project",
            model=asked.model,
            entry_point=asked.entry_point,
            fault=asked.fault if phase == "faulty" else None,
            label=f"{phase} version, {asked.fault_text}",
        )
        out = asked.work / f"{phase}.out"
        deploy_local.synth(env, out, project_root=root, stacks=asked.stack)
        return root, out

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = {phase: pool.submit(build, phase) for phase in ("faulty", "good")}
        return {phase: future.result() for phase, future in futures.items()}


Versions = concurrent.futures.Future[dict[str, tuple[Path, Path]]]


def start(
    asked: Request, stack: contextlib.ExitStack, timings: deploy_local.Timings
) -> tuple[Plan, emulator.Emulator, Versions]:
    """Synthesize the project and decide the plan; then start the emulator while both versions
    are synthesized.

    The two refusals (a project that does not synthesize, no rollback alarm on the fault's
    metric) need the template, so nothing else starts before it is read: a refused drill costs
    one synth and starts no emulator (which would take a CPU core for seconds only to be
    stopped). Everything started is registered on `stack` before it can fail, so an error
    leaves nothing running.
    """
    state = asked.work / "emulator.json"
    if emulator.stop(state):
        print("drill: stopped an emulator a previous drill left running")
    shutil.rmtree(asked.work / "outbox", ignore_errors=True)
    variables = {
        "EMULATOR_MODEL_SERVERS": str(MODEL_SERVERS),
        "EMULATOR_OUTBOX": str(asked.work / "outbox"),
        "EMULATOR_TIME_SCALE": f"{asked.scale:g}",
    }
    synth_env = deploy_local.cdk_environment("http://localhost:1")  # synth calls no AWS API
    project_root = None if asked.root == ROOT else asked.root
    try:
        timings.time(
            "synth", lambda: deploy_local.synth(synth_env, asked.base, project_root=project_root)
        )
    except deploy_local.StepFailed as error:  # the project itself is the bad input
        output = str(error).removeprefix("synth failed: ")
        log = asked.work / "synth.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(output)
        lines = [line.strip() for line in output.splitlines() if line.strip()] or ["no output"]
        first = next((line for line in lines if line.startswith("ERROR")), lines[0])
        raise DrillInputError(
            f"{asked.stack} does not synthesize: {first} (all of it: {log})"
        ) from error
    plan = decide(asked)
    pool = concurrent.futures.ThreadPoolExecutor(2)
    stack.callback(pool.shutdown)
    stack.callback(emulator.stop, state)
    started = pool.submit(timings.time, "emulator", lambda: emulator.start(state, env=variables))
    versions = pool.submit(_versions, asked)  # while the emulator starts and the project deploys
    handle = started.result()
    print(f"drill: emulator at {handle.url} (pid {handle.pid})", flush=True)
    return plan, handle, versions


def run_drill(
    plan: Plan,
    handle: emulator.Emulator,
    versions: Versions,
    timeline: Timeline,
    *,
    stack: contextlib.ExitStack,
    timings: deploy_local.Timings,
) -> None:
    """The drill itself, on a started emulator; what it starts is registered on `stack`."""
    timeline.add("setup", "emulator", f"emulator at {handle.url} (pid {handle.pid})")
    env = deploy_local.cdk_environment(handle.url)
    timings.time("bootstrap", lambda: deploy_local.bootstrap(env, plan.base))
    timings.time(
        "deploy", lambda: deploy_local.deploy(env, plan.base, stacks=["Staging-*", "Prod-*"])
    )
    client = _session(handle.url)
    pager = Pager().start()
    stack.callback(pager.stop)
    pager.subscribe(client("sns"), _topic(plan, client))
    body = (plan.root / "models" / plan.model / "example.json").read_bytes()
    recorder = Recorder(timeline=timeline, target=plan.target, client=client, pager=pager)
    traffic = Traffic(
        client=lambda: client("sagemaker-runtime"),
        endpoint_name=plan.target.endpoint,
        body=body,
        rate=lambda: QUIET_RATE if recorder.creating else RATE,
    )
    built = timings.time("synth versions", versions.result)
    timeline.configs["before"] = _endpoint_config(plan, client)
    timeline.started = time.time()
    traffic.start()  # the old fleet's model server starts on the first request
    stack.callback(traffic.stop)
    timeline.traffic = traffic.outcomes
    recorder.start()
    stack.callback(recorder.stop)
    good_started = time.time()
    for phase in ("faulty", "good"):
        root, out = built[phase]
        if phase == "good":
            if not traffic.answered_ok():
                raise deploy_local.StepFailed("traffic", f"{plan.target.endpoint} never answered")
            _wait(lambda: _alarms_ok(plan, client), seconds=SETTLE_PERIODS * plan.period)
            good_started = time.time()
        recorder.begin(phase)
        timings.time(phase, lambda: _deploy(plan, timeline, env, phase, out))  # noqa: B023
        timeline.configs[phase] = recorder.new_config or ""
        if phase == "faulty":
            time.sleep(plan.period)  # one more period: the recovery shows in the metrics
            _alarm_history(plan, timeline, client)
        else:
            time.sleep(AFTER_PERIODS * plan.period)
        timings.time("verify", lambda: _verify(plan, timeline, env, phase, out, root))  # noqa: B023
    stack.callback(_outbox, plan, timeline, plan.work / "outbox", good_started)


def report(plan: Plan, timeline: Timeline, *, summary: Path | None) -> bool:
    checks = judge(timeline)
    picture = plan.work / "timeline.svg"
    picture.write_text(render.svg(timeline, title=f"Fire drill: {plan.title}"))
    markdown = render.markdown(timeline, checks, title=plan.title, picture=str(picture))
    (plan.work / "timeline.md").write_text(markdown)
    (plan.work / "timeline.json").write_text(render.json_report(timeline, checks))
    if summary is not None:
        with summary.open("a") as handle:
            handle.write(markdown)
    print(render.text(timeline, checks), end="")
    print(f"drill: picture {picture}, summary {plan.work / 'timeline.md'}")
    return passed(checks)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="the model folder to drill, e.g. iris")
    parser.add_argument(
        "--fault",
        default="errors=30%",
        help="errors=<percent>, latency=<duration> or drift=<shift in sd>",
    )
    parser.add_argument(
        "--env", default="prod", help="environment whose rollout to drill (prod: canary)"
    )
    parser.add_argument("--summary", type=Path, help="append the Markdown timeline to this file")
    parser.add_argument("--work", type=Path, default=DRILL_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    timings = deploy_local.Timings()
    try:
        asked = request(
            model=args.model,
            environment=args.env,
            fault_text=args.fault,
            root=args.root.resolve(),
            work=args.work,
        )
    except DrillInputError as error:
        print(f"drill: {error}", file=sys.stderr)
        return 2
    if asked.fault.kind == "drift":  # the traffic moves, not the model: its own scenario
        return drift.run(asked, summary=args.summary)
    timeline: Timeline | None = None
    ok = False
    with contextlib.ExitStack() as stack:
        try:
            plan, handle, versions = start(asked, stack, timings)
        except DrillInputError as error:
            print(f"drill: {error}", file=sys.stderr)
            return 2
        except (deploy_local.StepFailed, emulator.EmulatorError) as error:
            print(f"drill: {error}", file=sys.stderr)
            return 1
        print(
            f"drill: {plan.title}: {plan.fault.describe()}; {plan.alarm.name} must catch it "
            f"({plan.target.traffic_routing}, bake {plan.target.bake_seconds:g} s in AWS = "
            f"{plan.target.bake_seconds / plan.scale:g} s here)",
            flush=True,
        )
        timeline = Timeline(
            started=time.time(),
            scale=plan.scale,
            period=plan.period,
            alarms=plan.target.rollback_alarms,
            fault_alarm=plan.alarm.name,
        )
        try:
            run_drill(plan, handle, versions, timeline, stack=stack, timings=timings)
            ok = True
        except (deploy_local.StepFailed, DrillInputError, TimeoutError) as error:
            print(f"drill: {error}", file=sys.stderr)
    ok = report(plan, timeline, summary=args.summary) and ok
    print(f"drill: {timings.render()}")
    return 0 if ok else 1
