"""Which kinds of change a stack goes through, and which of them lose data or traffic.

`compare` reads two cloud assemblies (no credentials: the base assembly stands for what is
deployed), matches stacks by name, has the engine diff every pair in one run and classifies each
stack: new model version, rollout, capacity, alarms, IAM, destructive. A change is destructive
when a bucket or an endpoint would be replaced or deleted, or a stack destroyed; a new
EndpointConfig or Model is not. IAM changes are the engine's, minus grants that only follow a
bundle or training-code archive to its new object key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ops.diff.describe import BUCKET, ENDPOINT, Deployed, Template, describe
from ops.diff.engine import EngineResult, run_engine
from stacks.templates import read_assembly

# Losing or replacing one of these loses data or traffic; a new EndpointConfig or Model does not.
STATEFUL = {BUCKET: "bucket", ENDPOINT: "endpoint"}
LOSSY_IMPACTS = {"WILL_REPLACE", "MAY_REPLACE", "WILL_DESTROY", "WILL_ORPHAN"}
IMPACT_WORDS = {
    "WILL_REPLACE": "replaced",
    "MAY_REPLACE": "may be replaced",
    "WILL_DESTROY": "deleted",
    "WILL_ORPHAN": "removed from the stack and retained",
}

IamRow = tuple[str, ...]
# How a sha256 appears in an asset's object key or ARN.
SHA256 = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")


@dataclass(frozen=True)
class StackChange:
    """One stack's change: what it deployed before and after (None: no such stack), and why.

    Attributes:
        iam: IAM statement rows (sign, resource, effect, action, principal, condition) that
            change access; a grant that only follows the bundle to its new object key is left out.
    """

    name: str
    old: Deployed | None
    new: Deployed | None
    engine: EngineResult
    destructive: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    model: str = "-"
    iam: tuple[IamRow, ...] = ()

    @property
    def changed(self) -> bool:
        return not self.engine.empty or (self.old is None) != (self.new is None)


@dataclass(frozen=True)
class Report:
    """Every stack of the two assemblies, changed or not, with the labels for the title."""

    stacks: tuple[StackChange, ...]
    base_label: str = "base"
    head_label: str = "head"

    @property
    def changed(self) -> tuple[StackChange, ...]:
        return tuple(stack for stack in self.stacks if stack.changed)

    @property
    def destructive(self) -> tuple[str, ...]:
        return tuple(item for stack in self.stacks for item in stack.destructive)


def iam_changes(engine: EngineResult) -> tuple[IamRow, ...]:
    """The engine's IAM statement changes, minus grants that only moved to a new asset object.

    An asset's S3 object key is its content's sha256 (`stacks/constructs/bundle_asset.py`): a
    new model bundle or training-code archive is a new key, and the grant on the old key is
    removed as the same grant on the new key is added. A removed row and an added row that are
    equal once every sha256 in them is masked are that move, not a change of permissions.
    """
    rows = list(engine.iam_statements) + list(engine.iam_managed_policies)
    added = [row for row in rows if row[:1] == ("+",)]
    moved: list[IamRow] = []
    for row in (row for row in rows if row[:1] == ("-",)):
        follows = next((a for a in added if _masked(a) == _masked(row)), None)
        if follows is not None and _masked(row) != row[1:]:
            added.remove(follows)
            moved += [row, follows]
    return tuple(row for row in rows if row not in moved)


def _masked(row: IamRow) -> IamRow:
    """A row's cells after its sign, with each sha256 in them replaced by one placeholder."""
    return tuple(SHA256.sub("<sha256>", cell) for cell in row[1:])


def _destroyed(name: str, old: Deployed) -> str:
    """Destroying a stack: whether its buckets (and their data) go with it."""
    if old.retained_buckets == old.buckets:
        what = "bucket retained" if old.buckets <= 1 else "buckets retained"
    else:
        what = f"{old.buckets - old.retained_buckets} bucket(s) DELETED with their data"
    return f"`{name}`: stack will be destroyed, {what}"


def _lost(name: str, engine: EngineResult) -> list[str]:
    """Buckets and endpoints the engine says are replaced, deleted or orphaned."""
    lost = []
    for change in engine.resources:
        label = STATEFUL.get(change.type)
        if label and change.impact in LOSSY_IMPACTS:
            because = f" (changing {', '.join(change.properties)})" if change.properties else ""
            lost.append(
                f"`{name}`: {label} `{change.logical_id}` will be "
                f"{IMPACT_WORDS[change.impact]}{because}"
            )
    return lost


def _kinds(
    *, old: Deployed, new: Deployed, engine: EngineResult, iam: bool, destructive: bool
) -> list[str]:
    """The kinds of change to a stack that exists on both sides."""
    kinds = []
    if old.sha256 != new.sha256:
        kinds.append("new model version")
    if old.rollout != new.rollout:
        kinds.append("rollout")
    if old.variants != new.variants or old.scaling != new.scaling:
        kinds.append("capacity")
    if old.alarms != new.alarms:
        kinds.append("alarms")
    if iam or engine.security_groups:
        kinds.append("IAM")
    if destructive:
        kinds.append("destructive")
    if not kinds and not engine.empty:
        kinds.append("other resources")
    return kinds


def classify(
    name: str, *, old: Template | None, new: Template | None, engine: EngineResult
) -> StackChange:
    """Name the kinds of change and every destructive one."""
    before = describe(old) if old is not None else None
    after = describe(new) if new is not None else None
    model = (after and after.model) or (before and before.model) or "-"
    if after is None and before is not None:
        destroyed = (_destroyed(name, before),)
        return StackChange(name, before, after, engine, destroyed, ("stack destroyed",), model)
    iam = iam_changes(engine)
    if before is None or after is None:  # created (compare never pairs two missing templates)
        return StackChange(name, before, after, engine, (), ("new stack",), model, iam)
    destructive = _lost(name, engine)
    kinds = _kinds(
        old=before, new=after, engine=engine, iam=bool(iam), destructive=bool(destructive)
    )
    return StackChange(name, before, after, engine, tuple(destructive), tuple(kinds), model, iam)


def compare(
    base: Path, head: Path, *, base_label: str = "base", head_label: str = "head"
) -> Report:
    """Diff every stack of two assemblies; stacks match by name.

    Raises:
        FileNotFoundError: an assembly has no manifest.json.
        DiffError: the engine could not run.
    """
    old = {stack.name: stack.template for stack in read_assembly(base)}
    new = {stack.name: stack.template for stack in read_assembly(head)}
    names = sorted(set(old) | set(new))
    pairs = [(name, old.get(name), new.get(name)) for name in names]
    results = run_engine(pairs)
    stacks = tuple(
        classify(name, old=before, new=after, engine=result)
        for (name, before, after), result in zip(pairs, results, strict=True)
    )
    return Report(stacks, base_label, head_label)
