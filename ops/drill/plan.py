"""What a drill is asked to do, checked before anything starts, and then decided from the
synthesized template.

`request` checks the input that needs no synth (the fault, the time scale, the environment and
the model) and fails in one line. `decide` reads the synthesized stack: it must have a rollback
alarm on the fault's metric. The command starts the emulator while synth runs and stops it if
`decide` refuses, so a bad input leaves nothing running either way.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from configs.errors import ConfigError
from configs.loader import load_project
from ops.drill.faults import Fault, parse_fault
from ops.drill.target import Alarm, DrillInputError, Target, read_target
from ops.emulator.clock import TimeScaleError, scale_from

ROOT = Path(__file__).resolve().parents[2]
DRILL_DIR = ROOT / ".cache" / "drill"
# An AWS alarm period (one minute), before scaling.
ALARM_PERIOD_S = 60.0


@dataclass(frozen=True)
class Request:
    """A drill as asked for, its input checked.

    Args:
        root: the project (configs/ and models/) to deploy and to copy for the two versions.
        entry_point: the model's handler module, which the versions wrap.
        work: .cache/drill/<stack>: assemblies, project copies, logs, outbox, the picture.
    """

    root: Path
    model: str
    environment: str
    stack: str
    entry_point: str
    fault: Fault
    fault_text: str
    scale: float
    work: Path

    @property
    def base(self) -> Path:
        """The assembly of the project as it is."""
        return self.work / "base.out"

    @property
    def period(self) -> float:
        """Real seconds of one alarm period in the emulator."""
        return ALARM_PERIOD_S / self.scale

    @property
    def title(self) -> str:
        return f"{self.stack}, --fault {self.fault_text}"


@dataclass(frozen=True)
class Plan(Request):
    """A drill decided: its target, read from the template, and the alarm that must fire."""

    target: Target
    alarm: Alarm


def request(
    *, model: str, environment: str, fault_text: str, root: Path = ROOT, work: Path | None = None
) -> Request:
    """Check what needs no synth.

    Raises:
        DrillInputError: bad input, in one line (the command exits 2).
    """
    try:
        fault = parse_fault(fault_text)
        scale = scale_from(os.environ)
        project = load_project(root)
    except (ValueError, ConfigError, TimeScaleError) as error:
        raise DrillInputError(str(error).strip().splitlines()[0]) from error
    if environment not in project.environments:
        known = ", ".join(sorted(project.environments))
        raise DrillInputError(f"unknown environment {environment!r}; use one of: {known}")
    if model not in project.models:
        known = ", ".join(sorted(project.models))
        raise DrillInputError(f"unknown model {model!r}; use one of: {known}")
    deployment = next(
        d
        for d in project.deployments()
        if d.environment_name == environment and d.model_name == model
    )
    return Request(
        root=root,
        model=model,
        environment=environment,
        stack=deployment.stack_name,
        entry_point=deployment.spec.artifact.entry_point,
        fault=fault,
        fault_text=fault_text,
        scale=scale,
        work=(work or DRILL_DIR) / deployment.stack_name,
    )


def decide(asked: Request) -> Plan:
    """The plan, from the synthesized base assembly.

    Raises:
        DrillInputError: the stack has no rollback alarm on the fault's metric.
    """
    target = read_target(asked.base, asked.stack)
    fields = {field.name: getattr(asked, field.name) for field in dataclasses.fields(Request)}
    return Plan(**fields, target=target, alarm=target.alarm_for(asked.fault))
