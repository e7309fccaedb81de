"""SageMaker's deployment guardrails: an endpoint update that shifts traffic and can roll back.

Follows "Deployment guardrails" and its pages "Blue/Green Deployments" (all at once, canary and
linear traffic shifting), "Rolling deployments" and "Auto-Rollback Configuration and Monitoring"
(https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green.html,
https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-rolling.html,
https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html), and the
API shapes BlueGreenUpdatePolicy, TrafficRoutingConfig, CapacitySize, RollingUpdatePolicy and
DescribeEndpoint (https://docs.aws.amazon.com/sagemaker/latest/APIReference/):

- a new (green) fleet is started from the new EndpointConfig beside the old (blue) one;
- ALL_AT_ONCE shifts all traffic, then bakes; CANARY shifts the canary's share, bakes, shifts the
  rest, bakes again (the final bake); LINEAR shifts one step at a time and bakes after each;
  rolling replaces the fleet batch by batch (`MaximumBatchSize`), baking after each batch;
- during every bake the `AutoRollbackConfiguration` alarms are watched; one in ALARM rolls all
  traffic back to the old fleet; so does passing `MaximumExecutionTimeoutInSeconds`;
- after success the old fleet is kept `TerminationWaitInSeconds`, then terminated;
- DescribeEndpoint says `Updating` during the deployment, `RollingBack` while traffic returns,
  then `InService`; after a rollback it stays on the old EndpointConfig with a `FailureReason`
  ("the status is InService but update operation fails"), and `LastDeploymentConfig` holds the
  deployment's config; `PendingDeploymentSummary` names the new config while it is deployed,
  and its variants' `VariantStatus` says `Creating` while the new fleet starts, then `Baking`
  with the step and its share of traffic (ProductionVariantStatus).

What the pages leave open, and the choices made here:

- A CapacitySize is read as the new fleet's share of traffic: CAPACITY_PERCENT v is v %,
  INSTANCE_COUNT n is n / (instances of the new fleet), at most all of it.
- Alarms are looked at every 10 AWS seconds of a bake (SageMaker does not say how often).
- Alarms already in ALARM when a bake starts count: the bake fails at its first look.
- Rolling rollback moves all traffic back at once (`RollbackMaximumBatchSize` only names how
  many instances at a time SageMaker would replace; there is no bake between them).
- A request is routed to the new fleet with probability equal to its share (SageMaker routes by
  capacity; the emulator serves each fleet with one model server).
- Durations are AWS seconds, waited on the emulator's clock (`ops.emulator.clock`).
- The new fleet starts (`provision`) in the time a local model server takes, which the time
  scale does not shrink: 30 real seconds would be 30 AWS minutes at the default scale. So
  `MaximumExecutionTimeoutInSeconds` counts from when the new fleet is up, not from the start.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ops.emulator.clock import Clock

ALARM_LOOK_S = 10.0


class EndpointView(Protocol):
    """What the deployment changes on the endpoint DescribeEndpoint answers from."""

    endpoint_config_name: str
    endpoint_status: str
    failure_reason: str | None
    pending_deployment_summary: dict[str, Any] | None
    last_deployment_config: dict[str, Any] | None


@dataclass(frozen=True)
class Step:
    """Traffic share of the new fleet after this step, and how long it then bakes."""

    share: float
    bake_seconds: float
    label: str


def _share(size: Mapping[str, Any], new_instances: int) -> float:
    value = float(size.get("Value", 0))
    if size.get("Type") == "INSTANCE_COUNT":
        return min(1.0, value / max(1, new_instances))
    return min(1.0, value / 100)


def steps(deployment_config: Mapping[str, Any], *, new_instances: int) -> list[Step]:
    """The traffic shifts a DeploymentConfig asks for (ALL_AT_ONCE without one)."""
    rolling = deployment_config.get("RollingUpdatePolicy")
    if rolling:
        batch = _share(rolling["MaximumBatchSize"], new_instances)
        count = max(1, math.ceil(1 / batch - 1e-9)) if batch > 0 else 1
        wait = float(rolling.get("WaitIntervalInSeconds", 0))
        return [
            Step(min(1.0, (i + 1) * batch), wait, f"batch {i + 1} of {count}") for i in range(count)
        ]
    policy = deployment_config.get("BlueGreenUpdatePolicy") or {}
    routing = policy.get("TrafficRoutingConfiguration") or {"Type": "ALL_AT_ONCE"}
    wait = float(routing.get("WaitIntervalInSeconds", 0))
    kind = routing.get("Type", "ALL_AT_ONCE")
    if kind == "CANARY":
        canary = _share(routing["CanarySize"], new_instances)
        return [Step(canary, wait, "canary"), Step(1.0, wait, "final")]
    if kind == "LINEAR":
        step = _share(routing["LinearStepSize"], new_instances)
        count = max(1, math.ceil(1 / step - 1e-9)) if step > 0 else 1
        return [
            Step(min(1.0, (i + 1) * step), wait, "final" if i == count - 1 else f"step {i + 1}")
            for i in range(count)
        ]
    return [Step(1.0, wait, "final")]


def _policy_value(deployment_config: Mapping[str, Any], key: str, default: float) -> float:
    for name in ("BlueGreenUpdatePolicy", "RollingUpdatePolicy"):
        policy = deployment_config.get(name) or {}
        if key in policy:
            return float(policy[key])
    return default


def execution_limit(deployment_config: Mapping[str, Any]) -> float:
    """AWS seconds the deployment may take before it rolls back (SageMaker's default: 3600)."""
    return _policy_value(deployment_config, "MaximumExecutionTimeoutInSeconds", 3600)


@dataclass
class Event:
    at: datetime
    kind: str  # started, provisioned, shifted, rolling-back, rolled-back, completed, terminated
    text: str
    share: float


@dataclass
class Deployment:
    """One endpoint update under a DeploymentConfig; `run()` carries it out on `clock`.

    Args:
        endpoint: the endpoint whose status and config the deployment changes.
        old_config / new_config: EndpointConfig names of the blue and green fleets.
        deployment_config: the endpoint's DeploymentConfig, as in the template or the API.
        new_instances: instance count of the new fleet (for INSTANCE_COUNT sizes).
        alarm_states: current state of each named alarm (CloudWatch's DescribeAlarms).
        provision: starts the new fleet before any traffic moves to it; an error there rolls
            the deployment back, as a new fleet that fails its health checks does.
        variants: the new EndpointConfig's production variants, for PendingDeploymentSummary.
    """

    endpoint: EndpointView
    old_config: str
    new_config: str
    deployment_config: Mapping[str, Any]
    new_instances: int
    clock: Clock
    alarm_states: Callable[[list[str]], Mapping[str, str]]
    provision: Callable[[], None] | None = None
    variants: list[Mapping[str, Any]] = field(default_factory=list)
    share: float = 0.0
    outcome: str | None = None  # "completed" | "rolled-back"
    fired: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def rollback_alarms(self) -> list[str]:
        rollback = self.deployment_config.get("AutoRollbackConfiguration") or {}
        return [str(alarm["AlarmName"]) for alarm in rollback.get("Alarms", [])]

    def _event(self, kind: str, text: str) -> None:
        self.events.append(Event(self.clock.now(), kind, text, self.share))

    def _stage(self, status: str, message: str) -> None:
        """The new fleet's VariantStatus in PendingDeploymentSummary."""
        summary = self.endpoint.pending_deployment_summary
        if summary is None:
            return
        stage = {"Status": status, "StatusMessage": message, "StartTime": self.clock.now()}
        summary["ProductionVariants"] = [
            {
                "VariantName": variant.get("VariantName"),
                "InstanceType": variant.get("InstanceType"),
                "DesiredInstanceCount": variant.get("InitialInstanceCount"),
                "VariantStatus": [stage],
            }
            for variant in self.variants
        ]

    def route(self, chooser: Callable[[], float] = random.random) -> str:
        """The EndpointConfig whose fleet serves the next request."""
        return self.new_config if chooser() < self.share else self.old_config

    def _bake(self, seconds: float, deadline: float, started: float) -> str | None:
        """Watch the rollback alarms for `seconds`; why the deployment must roll back, if so."""
        waited = 0.0
        while True:
            states = self.alarm_states(self.rollback_alarms) if self.rollback_alarms else {}
            fired = sorted(name for name, state in states.items() if state == "ALARM")
            if fired:
                self.fired = fired
                return f"alarm(s) in ALARM: {', '.join(fired)}"
            elapsed = (self.clock.now().timestamp() - started) * self.clock.scale
            if elapsed >= deadline:
                return f"MaximumExecutionTimeoutInSeconds ({deadline:.0f} s) passed"
            if waited >= seconds:
                return None
            step = min(ALARM_LOOK_S, seconds - waited, max(0.0, deadline - elapsed))
            if self.clock.wait(step, stop=self.stop):
                return "the emulator is stopping"
            waited += step

    def run(self) -> str:
        """Carry the deployment out; "completed" or "rolled-back"."""
        started = self.clock.now().timestamp()
        deadline = execution_limit(self.deployment_config)
        self.endpoint.endpoint_status = "Updating"
        self.endpoint.pending_deployment_summary = {
            "EndpointConfigName": self.new_config,
            "StartTime": self.clock.now(),
        }
        self._event("started", f"new fleet from {self.new_config} beside {self.old_config}")
        try:
            if self.provision is not None:
                self._stage("Creating", f"starting the new fleet from {self.new_config}")
                try:
                    self.provision()
                except Exception as error:
                    return self._roll_back(f"the new fleet did not start: {error}")
                self._event("provisioned", f"new fleet of {self.new_config} in service")
                started = self.clock.now().timestamp()  # see the module docstring
            for step in steps(self.deployment_config, new_instances=self.new_instances):
                self.share = step.share
                self._event(
                    "shifted", f"{step.label}: {step.share:.0%} of traffic on the new fleet"
                )
                self._stage(
                    "Baking",
                    f"{step.label}: {step.share:.0%} of traffic, baking {step.bake_seconds:g} s",
                )
                problem = self._bake(step.bake_seconds, deadline, started)
                if problem is not None:
                    return self._roll_back(problem)
            self.endpoint.endpoint_config_name = self.new_config
            self.endpoint.endpoint_status = "InService"
            self.endpoint.failure_reason = None
            self.outcome = "completed"
            self.endpoint.pending_deployment_summary = None
            self.endpoint.last_deployment_config = dict(self.deployment_config)
            self._event("completed", f"all traffic on {self.new_config}")
            wait = _policy_value(self.deployment_config, "TerminationWaitInSeconds", 0)
            self.done.set()
            self.clock.wait(wait, stop=self.stop)
            self._event("terminated", f"old fleet of {self.old_config} terminated")
            return self.outcome
        finally:
            self.endpoint.pending_deployment_summary = None
            self.endpoint.last_deployment_config = dict(self.deployment_config)
            self.done.set()

    def _roll_back(self, problem: str) -> str:
        self.endpoint.endpoint_status = "RollingBack"
        self._event("rolling-back", problem)
        self.share = 0.0
        self.endpoint.endpoint_config_name = self.old_config
        self.endpoint.endpoint_status = "InService"
        self.endpoint.failure_reason = (
            f"Endpoint update to {self.new_config} was rolled back to {self.old_config}: {problem}"
        )
        self.outcome = "rolled-back"
        self._event("rolled-back", f"all traffic back on {self.old_config}")
        return self.outcome

    def start(self) -> Deployment:
        """Run on a thread; `done` is set once the outcome is known."""
        threading.Thread(target=self.run, name="deployment", daemon=True).start()
        return self


# --------------------------------------------------------------------------------------------
# Deployments in progress, by endpoint, for routing InvokeEndpoint.

_active: dict[tuple[str, str, str], Deployment] = {}
_lock = threading.Lock()


def begin(account_id: str, region: str, endpoint_name: str, deployment: Deployment) -> Deployment:
    """Run `deployment` on a thread and route the endpoint's requests through it meanwhile."""
    with _lock:
        running = _active.get((account_id, region, endpoint_name))
        if running is not None and not running.done.is_set():
            raise RuntimeError(f"endpoint {endpoint_name} is already being updated")
        _active[(account_id, region, endpoint_name)] = deployment
    return deployment.start()


def active(account_id: str, region: str, endpoint_name: str) -> Deployment | None:
    """The endpoint's deployment while traffic may still go to its new fleet."""
    with _lock:
        deployment = _active.get((account_id, region, endpoint_name))
    if deployment is None or deployment.outcome is not None:
        return None
    return deployment


def moto_alarm_states(account_id: str, region: str) -> Callable[[list[str]], Mapping[str, str]]:
    """Alarm states as DescribeAlarms gives them to SageMaker (missing alarms are left out)."""

    def states(names: list[str]) -> Mapping[str, str]:
        from moto.cloudwatch.models import cloudwatch_backends

        alarms = cloudwatch_backends[account_id][region].alarms
        return {name: alarms[name].state_value for name in names if name in alarms}

    return states


def stop_all() -> None:
    with _lock:
        for deployment in _active.values():
            deployment.stop.set()
