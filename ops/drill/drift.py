"""The drill's drift scenario: shifted traffic is captured, violates the baseline and pages.

`python -m ops drill --model iris --fault drift=2sd` deploys the project as it is to the local
emulator, subscribes the pager to the stack's paging topic, then runs two phases:

1. in distribution: requests drawn from the model's own baseline data; `ops drift` must find
   captured data and no violation, and no drift alarm may go to ALARM;
2. shifted: the same draw with every feature moved by the shift; `ops drift` must find a
   `baseline_drift_check` violation, publish `feature_baseline_drift_<feature>` above the
   threshold, a drift alarm must go OK -> ALARM and its page must reach the pager.

Nothing is redeployed: the model is fine, the world moved. The alarm periods here are the
monitoring schedule's (an hour), so unless `EMULATOR_TIME_SCALE` is set this scenario runs at
`DRIFT_SCALE` (an AWS hour in 6 s) instead of the rollout's 60.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ops.emulator as emulator
from configs.loader import load_project
from ops import deploy_local
from ops.drift import check as drift_check
from ops.drift import command as drift_command
from ops.drift import target as drift_target
from ops.drift.captured import CaptureFormatError
from ops.drill.faults import DRIFT_METRIC
from ops.drill.pager import Pager
from ops.drill.plan import Request
from ops.drill.shifted import Shifted
from ops.drill.target import ALARM, TOPIC, DrillInputError
from ops.emulator.clock import SCALE_VARIABLE
from stacks.templates import properties, read_assembly

DRIFT_SCALE = 600.0
SCHEDULE_PERIOD_S = 3600.0  # hourly: the drift alarms' period in AWS seconds
REQUESTS = 200
PER_REQUEST = 5
WORKERS = 4
CAPTURE_FLUSH_S = 2.0  # data capture writes its buffer a second after the first record
ALARM_WAIT_PERIODS = 4


@dataclass
class Log:
    """What happened, in order: (seconds since the first request, phase, what)."""

    started: float = field(default_factory=time.time)
    events: list[tuple[float, str, str]] = field(default_factory=list)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    def add(self, phase: str, what: str) -> None:
        self.events.append((time.time() - self.started, phase, what))
        print(f"drill: [{phase}] {what}", flush=True)

    def expect(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append((name, ok, detail))
        return ok

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(ok for _, ok, _ in self.checks)


def scale() -> float:
    from ops.emulator.clock import scale_from

    return scale_from(os.environ) if os.environ.get(SCALE_VARIABLE) else DRIFT_SCALE


def drift_alarms(assembly: Path, stack_name: str) -> tuple[list[str], str | None]:
    """The stack's alarms on Model Monitor's drift metrics, and its paging topic's logical id."""
    for stack in read_assembly(assembly):
        if stack.name != stack_name:
            continue
        names = []
        for resource in stack.resources(ALARM).values():
            props = properties(resource)
            metrics = [str(props.get("MetricName", ""))]
            for query in props.get("Metrics") or []:
                stat = query.get("MetricStat") or {}
                metrics.append(str((stat.get("Metric") or {}).get("MetricName", "")))
            if any(m.startswith(DRIFT_METRIC) for m in metrics):
                names.append(str(props.get("AlarmName")))
        topics = list(stack.resources(TOPIC))
        return names, topics[0] if topics else None
    raise DrillInputError(f"{assembly} has no stack {stack_name}")


def send(client: Any, endpoint: str, bodies: list[bytes]) -> tuple[int, int]:
    """InvokeEndpoint with each body; (answered 200, failed)."""
    runtimes = [client("sagemaker-runtime") for _ in range(WORKERS)]

    def one(index: int) -> bool:
        runtime = runtimes[index % WORKERS]
        try:
            response = runtime.invoke_endpoint(
                EndpointName=endpoint,
                Body=bodies[index],
                ContentType="application/json",
                Accept="application/json",
            )
            response["Body"].read()
            return True
        except Exception:  # counted: a failed request is not captured
            return False

    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(one, range(len(bodies))))
    return sum(results), len(results) - sum(results)


def alarm_states(client: Any, names: list[str]) -> dict[str, str]:
    found = client("cloudwatch").describe_alarms(AlarmNames=names)["MetricAlarms"]
    return {a["AlarmName"]: a["StateValue"] for a in found}


def _phase(
    log: Log,
    name: str,
    *,
    asked: Request,
    url: str,
    client: Any,
    endpoint: str,
    bodies: list[bytes],
) -> drift_check.Outcome | None:
    time.sleep(1.1)  # records of the phase start on a new second: `--since` separates phases
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    ok, failed = send(client, endpoint, bodies)
    log.add(name, f"{ok} requests answered, {failed} failed ({PER_REQUEST} rows each)")
    time.sleep(CAPTURE_FLUSH_S)
    try:
        outcome = drift_command.check_model(
            model=asked.model,
            environment=asked.environment,
            assembly=asked.base,
            url=url,
            since=since,
            root=asked.root,
            out=asked.work / "drift" / name,
        )
    except (drift_check.NothingCaptured, drift_target.DriftInputError, CaptureFormatError) as error:
        log.expect(f"{name}: data captured", False, str(error))
        return None
    log.expect(
        f"{name}: data captured",
        outcome.records > 0,
        f"{outcome.records} captured requests, {outcome.rows} rows",
    )
    kinds = sorted({v["constraint_check_type"] for v in outcome.violations})
    log.add(
        name,
        f"ops drift: {len(outcome.violations)} violation(s) {kinds}; "
        f"{outcome.published} metric data points; report {outcome.report}",
    )
    return outcome


def run_phases(asked: Request, handle: emulator.Emulator, log: Log, *, period: float) -> None:
    names, topic = drift_alarms(asked.base, asked.stack)
    if not names:
        raise DrillInputError(
            f"{asked.stack} has no alarm on {DRIFT_METRIC}<feature>: turn on "
            "`monitoring: {data_quality: {enabled: true}}` for this model and environment"
        )
    client = emulator.clients(handle.url)
    found = client("cloudformation").describe_stack_resource(
        StackName=asked.stack, LogicalResourceId=topic
    )
    pager = Pager().start()
    try:
        pager.subscribe(client("sns"), str(found["StackResourceDetail"]["PhysicalResourceId"]))
        log.add("setup", f"pager subscribed; drift alarms: {', '.join(names)}")
        endpoint = drift_target.resolve(
            assembly=asked.base, stack_name=asked.stack, client=client
        ).endpoint
        shifted = Shifted.of(_baseline_data(asked))
        quiet = shifted.bodies(REQUESTS, per_request=PER_REQUEST, shift=0.0)
        calm = _phase(
            log,
            "in-distribution",
            asked=asked,
            url=handle.url,
            client=client,
            endpoint=endpoint,
            bodies=quiet,
        )
        if calm is not None:
            log.expect("in-distribution: no violation", not calm.violations, str(calm.violations))
        time.sleep(2 * period)  # the period with its metrics completes and is evaluated
        states = alarm_states(client, names)
        log.add("in-distribution", f"alarm states: {states}")
        log.expect("in-distribution: no drift alarm", "ALARM" not in states.values(), str(states))
        early = [p.alarm for p in pager.pages if p.alarm in names and p.new_state == "ALARM"]
        others = sorted({f"{p.alarm} ({p.new_state})" for p in pager.pages if p.alarm not in names})
        if others:
            log.add("in-distribution", f"pages for other alarms: {', '.join(others)}")
        log.expect("in-distribution: no drift page", not early, f"{len(early)} ALARM page(s)")
        moved = shifted.bodies(REQUESTS, per_request=PER_REQUEST, shift=asked.fault.shift, seed=18)
        drifted = _phase(
            log,
            "shifted",
            asked=asked,
            url=handle.url,
            client=client,
            endpoint=endpoint,
            bodies=moved,
        )
        if drifted is not None:
            drift = [
                v
                for v in drifted.violations
                if v["constraint_check_type"] == "baseline_drift_check"
            ]
            log.expect(
                "shifted: baseline_drift_check violation", bool(drift), str(drifted.violations)
            )
            top = max(drifted.distances.items(), key=lambda item: item[1], default=("-", 0.0))
            log.expect(
                "shifted: drift metric published",
                drifted.published > 0,
                f"{drifted.published} data points; largest distance {top[0]} = {top[1]:.3f}",
            )
        deadline = time.monotonic() + ALARM_WAIT_PERIODS * period
        fired: list[str] = []
        while time.monotonic() < deadline and not (fired and pager.pages):
            fired = [n for n, s in alarm_states(client, names).items() if s == "ALARM"]
            time.sleep(0.2)
        log.add("shifted", f"alarms in ALARM: {fired or 'none'}")
        log.expect(
            "shifted: drift alarm OK -> ALARM", bool(fired), str(alarm_states(client, names))
        )
        paged = [p for p in pager.pages if p.alarm in names and p.new_state == "ALARM"]
        for page in paged:
            log.add("shifted", f"page received: {page.subject}")
        log.expect(
            "shifted: page reached the on-call",
            bool(paged),
            f"{len(paged)} ALARM page(s) of drift alarms ({len(pager.pages)} pages in all)",
        )
    finally:
        pager.stop()


def _baseline_data(asked: Request) -> Any:
    from bundler.baseline import read_csv

    project = load_project(asked.root)
    deployment = next(
        d
        for d in project.deployments()
        if d.environment_name == asked.environment and d.model_name == asked.model
    )
    quality = deployment.spec.monitoring.data_quality
    if quality.data is None:
        raise DrillInputError(f"{asked.stack}: monitoring.data_quality.data is not set")
    path = asked.root / "models" / asked.model / quality.data
    return read_csv(path, features=list(quality.features) or None)


def report(asked: Request, log: Log, *, summary: Path | None) -> None:
    lines = [f"## Drift drill: {asked.stack}, --fault {asked.fault_text}", ""]
    lines += ["| at | phase | event |", "|---|---|---|"]
    lines += [f"| {at:.1f} s | {phase} | {what} |" for at, phase, what in log.events]
    lines += ["", "| expectation | met | detail |", "|---|---|---|"]
    lines += [f"| {name} | {'✅' if ok else '❌'} | {detail} |" for name, ok, detail in log.checks]
    markdown = "\n".join(lines) + "\n"
    (asked.work / "drift.md").write_text(markdown)
    (asked.work / "drift.json").write_text(
        json.dumps({"events": log.events, "checks": log.checks, "passed": log.passed}, indent=2)
    )
    if summary is not None:
        with summary.open("a") as handle:
            handle.write(markdown)
    for name, ok, detail in log.checks:
        print(f"drill: {'PASS' if ok else 'FAIL'} {name}: {detail}")
    print(f"drill: summary {asked.work / 'drift.md'}; reports under {asked.work / 'drift'}")


def run(asked: Request, *, summary: Path | None) -> int:
    """The drift scenario, start to end; everything it starts is stopped."""
    timings = deploy_local.Timings()
    state = asked.work / "emulator.json"
    emulator.stop(state)
    shutil.rmtree(asked.work / "drift", ignore_errors=True)
    factor = scale()
    variables = {
        "EMULATOR_OUTBOX": str(asked.work / "outbox"),
        "EMULATOR_TIME_SCALE": f"{factor:g}",
    }
    log = Log()
    with contextlib.ExitStack() as stack:
        stack.callback(emulator.stop, state)
        try:
            synth_env = deploy_local.cdk_environment("http://localhost:1")
            project_root = None if asked.root == drift_command.ROOT else asked.root
            timings.time(
                "synth",
                lambda: deploy_local.synth(synth_env, asked.base, project_root=project_root),
            )
            handle = timings.time("emulator", lambda: emulator.start(state, env=variables))
            env = deploy_local.cdk_environment(handle.url)
            timings.time("bootstrap", lambda: deploy_local.bootstrap(env, asked.base))
            timings.time("deploy", lambda: deploy_local.deploy(env, asked.base, stacks=asked.stack))
            log = Log()
            log.add(
                "setup",
                f"{asked.stack} deployed on {handle.url}; "
                f"an AWS hour is {SCHEDULE_PERIOD_S / factor:g} s here",
            )
            run_phases(asked, handle, log, period=SCHEDULE_PERIOD_S / factor)
        except (DrillInputError, drift_target.DriftInputError) as error:
            print(f"drill: {error}", file=sys.stderr)
            return 2
        except (deploy_local.StepFailed, emulator.EmulatorError, TimeoutError) as error:
            log.expect("the drill ran", False, str(error).splitlines()[0])
    report(asked, log, summary=summary)
    print(f"drill: {timings.render()}")
    return 0 if log.passed else 1
