"""The PR comment: a `Report` as Markdown, within GitHub's comment size limit.

Layout, top to bottom: the sticky marker (the workflow finds and updates its earlier comment by
it) and the title; a CAUTION call-out listing destructive changes, a WARNING call-out for IAM
changes and a CAUTION call-out for models that miss their quality bar; the model section
(`model_markdown`: how each changed model's answers change); one summary table per model (a row
per changed stack: kinds of change, bundle digest, rollout plan, instances and scaling, alarms);
the unchanged stacks; then each stack's full engine output, collapsed. Detail is dropped before
summary to stay under the limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ops.diff.changes import IamRow, Report, StackChange
from ops.diff.describe import ENDPOINT, ENDPOINT_CONFIG, Deployed
from ops.diff.model_markdown import model_section, regression_callout
from ops.diff.models import ModelReport
from ops.diff.scope import Scope

# GitHub refuses comments over 65,536 characters; leave room for the sticky marker and footer.
DEFAULT_LIMIT = 60_000
MARKER = "<!-- sagemaker-model-stacks:cdk-diff -->"
SUMMARY_HEADER = (
    "| stack | change | artifact sha256 | rollout plan | instances & scaling | alarms |\n"
    "|---|---|---|---|---|---|"
)
# What a side of the change without a stack deploys.
NOTHING = Deployed()


def _cell(lines: Iterable[str]) -> str:
    text = "<br>".join(line.replace("|", "\\|") for line in lines)
    return text or "-"


def _sha(value: str | None) -> str:
    return f"`{value[:12]}`" if value else "-"


def _before_after(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """`+ added`, `- removed` and `changed: old → new` lines, by key."""
    lines = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if before is None:
            lines.append(f"+ {key}: {after}")
        elif after is None:
            lines.append(f"- {key}: {before}")
        else:
            lines.append(f"{key}: {before} → {after}")
    return lines


def _artifact(stack: StackChange, *, old: Deployed, new: Deployed) -> str:
    if stack.new is None:
        return f"{_sha(old.sha256)} → (none)"
    if stack.old is None or old.sha256 == new.sha256:
        return _sha(new.sha256) + ("" if stack.old is None else " (unchanged)")
    return f"{_sha(old.sha256)} → {_sha(new.sha256)}"


def _rollout(stack: StackChange, *, old: Deployed, new: Deployed) -> str:
    endpoint_moves = stack.new is not None and any(
        change.type in (ENDPOINT, ENDPOINT_CONFIG) for change in stack.engine.resources
    )
    if stack.new is None:
        return "-"
    if old.rollout != new.rollout and stack.old is not None:
        return f"{old.rollout} → **{new.rollout}**"
    if endpoint_moves:
        return new.rollout
    return "no endpoint update"


def summary_row(stack: StackChange) -> str:
    """The stack's row of its model's summary table."""
    old, new = stack.old or NOTHING, stack.new or NOTHING
    capacity = _before_after(old.variants, new.variants) + _before_after(old.scaling, new.scaling)
    alarm_lines = _before_after(old.alarms, new.alarms)
    if stack.new is None:
        capacity, alarm_lines = ["all removed"], ["all removed"] if old.alarms else []
    kinds = ", ".join(stack.kinds) or "other"
    if stack.destructive:
        kinds = f"⛔ **{kinds}**"
    return (
        f"| `{stack.name}` | {kinds} | {_artifact(stack, old=old, new=new)} | "
        f"{_cell([_rollout(stack, old=old, new=new)])} | {_cell(capacity)} | {_cell(alarm_lines)} |"
    )


def _grant(row: IamRow) -> str:
    """`+ Allow s3:* on * to AWS:${Role}` from an engine statement row."""
    if len(row) == 3:  # managed policy: sign, resource, policy ARN
        return f"{row[0]} managed policy `{row[2]}` on `{row[1]}`"
    sign, resource, effect, action, principal, *condition = (*row, "", "", "", "", "")[:6]
    where = " when " + " ".join(condition[0].split()) if condition and condition[0] else ""
    flat = ", ".join(resource.split("\n"))
    return f"{sign} {effect} `{', '.join(action.split())}` on `{flat}` to `{principal}`{where}"


def _callouts(report: Report) -> list[str]:
    """GitHub alert blocks: destructive changes (CAUTION), then IAM changes (WARNING)."""
    blocks = []
    if report.destructive:
        lines = ["> [!CAUTION]", "> **Destructive changes.** Review each before merging:"]
        lines += [f"> - {item}" for item in report.destructive]
        lines.append("> The PR check fails until the PR carries the `allow-destructive` label.")
        blocks.append("\n".join(lines))
    iam = [stack for stack in report.changed if "IAM" in stack.kinds]
    if iam:
        lines = ["> [!WARNING]", "> **IAM / security changes:**"]
        for stack in iam:
            added = [row for row in stack.iam if row[:1] == ("+",)]
            removed = [row for row in stack.iam if row[:1] == ("-",)]
            text = f"> - `{stack.name}`: {len(added)} grant(s) added, {len(removed)} removed"
            if stack.engine.security_groups:
                text += ", security group rules changed"
            lines.append(text)
            lines += [f">   - {_grant(row)}" for row in stack.iam[:10]]
        blocks.append("\n".join(lines))
    return blocks


def _fence(text: str) -> str:
    longest = max((len(run) for run in text.split("\n") if set(run) == {"`"}), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}diff\n{text.rstrip()}\n{ticks}"


def details_block(stack: StackChange, *, budget: int | None = None) -> str:
    """The engine's full output for one stack, collapsed; cut to `budget` characters if given."""
    count = len(stack.engine.resources)
    head = f"<details><summary><code>{stack.name}</code>: {count} resource change(s)</summary>\n\n"
    tail = "\n</details>"
    body_text = stack.engine.text  # the engine's own output already leads with IAM changes
    block = head + _fence(body_text) + tail
    if budget is None or len(block) <= budget:
        return block
    note = "\n… cut to fit the comment; `make diff BASE=<ref>` prints it all.\n"
    room = budget - len(head) - len(tail) - len(note) - 20
    if room < 200:
        return ""
    return head + _fence(body_text[:room]) + note + tail


def _summary(report: Report) -> list[str]:
    """One table per model, its changed stacks as rows; then the unchanged stacks."""
    by_model: dict[str, list[StackChange]] = {}
    for stack in report.changed:
        by_model.setdefault(stack.model, []).append(stack)
    summary: list[str] = []
    for model in sorted(by_model):
        summary += [f"### Model `{model}`", "", SUMMARY_HEADER]
        summary += [summary_row(stack) for stack in by_model[model]]
        summary.append("")
    unchanged = [stack.name for stack in report.stacks if not stack.changed]
    if unchanged:
        summary.append(f"Unchanged: {', '.join(f'`{name}`' for name in unchanged)}.\n")
    return summary


def _details(report: Report, room: int) -> list[str]:
    """The collapsed engine output of each changed stack, while `room` lasts."""
    parts = ["### Details", ""]
    room -= len("\n".join(parts))
    omitted = []
    for stack in report.changed:
        block = details_block(stack, budget=room)
        if not block:
            omitted.append(stack.name)
            continue
        parts.append(block)
        parts.append("")
        room -= len(block) + 2
    if omitted:
        parts.append(
            f"Details left out to fit the comment: {', '.join(f'`{n}`' for n in omitted)}; "
            "`make diff BASE=<ref>` prints them."
        )
    return parts


def scope_line(scope: Scope | None) -> str:
    """One line saying which stacks were compared when not all of them were synthesized."""
    if scope is None or scope.everything:
        return ""
    folders = ", ".join(f"`models/{folder}/`" for folder in scope.folders)
    if not scope.folders:
        return f"No file changed: none of the {scope.total} stacks was synthesized."
    if not scope.compared:
        return (
            f"Only {folders} changed, which no stack reads: none of the {scope.total} "
            "stacks was synthesized."
        )
    shown = ", ".join(f"`{name}`" for name in scope.compared[:8])
    if len(scope.compared) > 8:
        shown += f" and {len(scope.compared) - 8} more"
    others = scope.total - len(scope.compared)
    return (
        f"Compared {len(scope.compared)} of {scope.total} stacks ({shown}); the other "
        f"{others} were not synthesized because nothing they read changed (only {folders})."
    )


def render(
    report: Report,
    *,
    limit: int = DEFAULT_LIMIT,
    models: ModelReport | None = None,
    scope: Scope | None = None,
) -> str:
    """Markdown for the PR comment. Detail is dropped before summary to stay under `limit`:
    the engine's output first, then the model section's collapsed rows, then summary rows.

    Args:
        models: the model section (`ops.diff.models`); None leaves it out.
        scope: which stacks were synthesized (`ops.diff.scope`); None means all of them.
    """
    title = f"## CDK diff: `{report.head_label}` against `{report.base_label}`"
    compared = scope_line(scope)
    if compared:
        title += f"\n\n{compared}"
    if not report.changed:
        text = f"{MARKER}\n{title}\n\n**No changes** to any of the {len(report.stacks)} stack(s)."
        return text[:limit]
    parts = [MARKER, title, ""]
    regression = regression_callout(models)
    callouts = _callouts(report) + ([regression] if regression else [])
    parts += [block + "\n" for block in callouts]
    text = "\n".join(parts + model_section(models) + _summary(report))
    if len(text) > limit:
        text = "\n".join(parts + model_section(models, compact=True) + _summary(report))
    if len(text) > limit:
        note = "\n\n… summary cut to fit the comment; run `make diff BASE=<ref>` for all of it."
        return text[: limit - len(note)].rsplit("\n", 1)[0] + note
    detail_parts = _details(report, limit - len(text) - 200)
    return (text + "\n" + "\n".join(detail_parts)).rstrip() + "\n"
