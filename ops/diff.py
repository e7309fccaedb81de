"""Render what a change does to every stack, as Markdown: `python -m ops diff --base A --head B`.

Both sides are synthesized cloud assemblies (no credentials: the base assembly stands for what
is deployed). Templates are diffed by the CDK's own engine (`@aws-cdk/cloudformation-diff`,
through `ops/cfn_diff.js`); this module reads the templates by CloudFormation resource type to
say per model what a reviewer needs: new bundle sha256, rollout plan, instances and scaling,
alarms, IAM, and anything destructive, within GitHub's comment size limit.

Exit codes: 0 rendered; 1 an assembly could not be read or diffed; 3 destructive changes found
and `--fail-on-destructive` given (the Markdown is written first).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ops.assembly import BUNDLE_METADATA, read_stacks

ENGINE = Path(__file__).with_name("cfn_diff.js")
# GitHub refuses comments over 65,536 characters; leave room for the sticky marker and footer.
DEFAULT_LIMIT = 60_000
MARKER = "<!-- sagemaker-model-stacks:cdk-diff -->"
EXIT_DESTRUCTIVE = 3

ENDPOINT = "AWS::SageMaker::Endpoint"
ENDPOINT_CONFIG = "AWS::SageMaker::EndpointConfig"
ALARM = "AWS::CloudWatch::Alarm"
SCALABLE_TARGET = "AWS::ApplicationAutoScaling::ScalableTarget"
SCALING_POLICY = "AWS::ApplicationAutoScaling::ScalingPolicy"
BUCKET = "AWS::S3::Bucket"
# Losing or replacing one of these loses data or traffic; a new EndpointConfig or Model does not.
STATEFUL = {BUCKET: "bucket", ENDPOINT: "endpoint"}
LOSSY_IMPACTS = {"WILL_REPLACE", "MAY_REPLACE", "WILL_DESTROY", "WILL_ORPHAN"}
IMPACT_WORDS = {
    "WILL_REPLACE": "replaced",
    "MAY_REPLACE": "may be replaced",
    "WILL_DESTROY": "deleted",
    "WILL_ORPHAN": "removed from the stack and retained",
}

Template = Mapping[str, Any]


class DiffError(Exception):
    """The diff engine could not run or returned something unreadable."""


@dataclass(frozen=True)
class ResourceChange:
    logical_id: str
    type: str
    impact: str
    path: str | None
    properties: tuple[str, ...]


@dataclass(frozen=True)
class EngineResult:
    """What `@aws-cdk/cloudformation-diff` says about one stack."""

    empty: bool
    resources: tuple[ResourceChange, ...]
    iam_statements: tuple[tuple[str, ...], ...]
    iam_managed_policies: tuple[tuple[str, ...], ...]
    iam_broadened: bool
    iam_changed: bool
    security_groups: bool
    text: str
    security_text: str


@dataclass(frozen=True)
class StackChange:
    """One stack's change, old and new templates read by resource type."""

    name: str
    old: Template | None
    new: Template | None
    engine: EngineResult
    destructive: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    model: str = "-"
    # IAM statement rows (sign, resource, effect, action, principal, condition) that change
    # access; a grant that only follows the bundle to its new object key is left out.
    iam: tuple[tuple[str, ...], ...] = ()

    @property
    def changed(self) -> bool:
        return not self.engine.empty or (self.old is None) != (self.new is None)


@dataclass(frozen=True)
class Report:
    stacks: tuple[StackChange, ...]
    base_label: str = "base"
    head_label: str = "head"
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def changed(self) -> tuple[StackChange, ...]:
        return tuple(stack for stack in self.stacks if stack.changed)

    @property
    def destructive(self) -> tuple[str, ...]:
        return tuple(item for stack in self.stacks for item in stack.destructive)


# --- reading templates by resource type ---------------------------------------------------------


def _resources(template: Template | None, kind: str) -> dict[str, Mapping[str, Any]]:
    if template is None:
        return {}
    return {
        logical: resource
        for logical, resource in template.get("Resources", {}).items()
        if isinstance(resource, Mapping) and resource.get("Type") == kind
    }


def _props(resource: Mapping[str, Any]) -> Mapping[str, Any]:
    value = resource.get("Properties", {})
    return value if isinstance(value, Mapping) else {}


def _bundle(template: Template | None) -> Mapping[str, Any]:
    if template is None:
        return {}
    value = template.get("Metadata", {}).get(BUNDLE_METADATA, {})
    return value if isinstance(value, Mapping) else {}


def _literal(value: Any, template: Template | None, name_key: str | None = None) -> str:
    """A readable form of a property that may be an intrinsic function."""
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, Mapping):
        if "Ref" in value:
            target = (template or {}).get("Resources", {}).get(value["Ref"], {})
            if name_key and isinstance(_props(target).get(name_key), str):
                return str(_props(target)[name_key])
            return f"${{{value['Ref']}}}"
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return str(separator).join(_literal(part, template, name_key) for part in parts)
        if "Fn::GetAtt" in value:
            return "${" + ".".join(str(part) for part in value["Fn::GetAtt"]) + "}"
    return json.dumps(value, sort_keys=True)


def _seconds(value: Any) -> str:
    if not isinstance(value, int):
        return "?"
    return f"{value // 60} min" if value >= 120 and value % 60 == 0 else f"{value}s"


def _capacity(value: Any) -> str:
    if not isinstance(value, Mapping):
        return "?"
    kind, amount = value.get("Type"), value.get("Value")
    return f"{amount}%" if kind == "CAPACITY_PERCENT" else f"{amount} instance(s)"


def rollout_plan(template: Template | None) -> str:
    """The endpoint's update policy in words (SageMaker `DeploymentConfig`)."""
    endpoints = _resources(template, ENDPOINT)
    if not endpoints:
        return "-"
    plans = []
    for endpoint in endpoints.values():
        config = _props(endpoint).get("DeploymentConfig")
        if not isinstance(config, Mapping):
            plans.append("SageMaker default (blue/green, all at once, no alarms)")
            continue
        parts: list[str] = []
        blue_green = config.get("BlueGreenUpdatePolicy")
        rolling = config.get("RollingUpdatePolicy")
        if isinstance(blue_green, Mapping):
            routing = blue_green.get("TrafficRoutingConfiguration", {})
            kind = routing.get("Type", "ALL_AT_ONCE")
            wait = routing.get("WaitIntervalInSeconds")
            if kind == "CANARY":
                parts.append(
                    f"canary {_capacity(routing.get('CanarySize'))}, bake {_seconds(wait)}, "
                    "then the rest"
                )
            elif kind == "LINEAR":
                parts.append(
                    f"linear steps of {_capacity(routing.get('LinearStepSize'))} "
                    f"every {_seconds(wait)}"
                )
            else:
                parts.append("blue/green all at once")
            if "TerminationWaitInSeconds" in blue_green:
                parts.append(f"old fleet kept {_seconds(blue_green['TerminationWaitInSeconds'])}")
        elif isinstance(rolling, Mapping):
            parts.append(
                f"rolling batches of {_capacity(rolling.get('MaximumBatchSize'))} "
                f"every {_seconds(rolling.get('WaitIntervalInSeconds'))}"
            )
        alarms = alarm_names_for_rollback(template)
        parts.append(f"auto-rollback on {', '.join(alarms)}" if alarms else "no auto-rollback")
        plans.append("; ".join(parts))
    return " / ".join(plans)


def alarm_names_for_rollback(template: Template | None) -> list[str]:
    """Alarm names in the endpoints' `AutoRollbackConfiguration`, intrinsics resolved."""
    names = []
    for endpoint in _resources(template, ENDPOINT).values():
        config = _props(endpoint).get("DeploymentConfig", {})
        alarms = config.get("AutoRollbackConfiguration", {}).get("Alarms", [])
        names += [_literal(alarm.get("AlarmName"), template, "AlarmName") for alarm in alarms]
    return names


def variants(template: Template | None) -> dict[str, str]:
    """`name -> "ml.m5.large x2 (weight 1)"` for production and shadow variants."""
    found: dict[str, str] = {}
    for config in _resources(template, ENDPOINT_CONFIG).values():
        props = _props(config)
        for key, label in (("ProductionVariants", ""), ("ShadowProductionVariants", "shadow ")):
            for variant in props.get(key, []) or []:
                name = f"{label}{variant.get('VariantName', '?')}"
                if "ServerlessConfig" in variant:
                    serverless = variant["ServerlessConfig"]
                    found[name] = (
                        f"serverless {serverless.get('MemorySizeInMB')} MB, "
                        f"max {serverless.get('MaxConcurrency')}"
                    )
                    continue
                text = f"{variant.get('InstanceType', '?')} x{variant.get('InitialInstanceCount')}"
                if key == "ProductionVariants" and "InitialVariantWeight" in variant:
                    text += f" (weight {variant['InitialVariantWeight']:g})"
                found[name] = text
    return found


def scaling(template: Template | None) -> dict[str, str]:
    """`target -> "1-4 instances, InvocationsPerInstance 70"` from Application Auto Scaling."""
    found: dict[str, str] = {}
    targets = _resources(template, SCALABLE_TARGET)
    for logical, target in targets.items():
        props = _props(target)
        resource_id = _literal(props.get("ResourceId"), template)
        name = resource_id.rsplit("/", 1)[-1] if "/variant/" in resource_id else logical
        policies = []
        for policy in _resources(template, SCALING_POLICY).values():
            policy_props = _props(policy)
            if policy_props.get("ScalingTargetId") not in ({"Ref": logical}, logical):
                continue
            tracking = policy_props.get("TargetTrackingScalingPolicyConfiguration", {})
            metric = tracking.get("PredefinedMetricSpecification", {}).get(
                "PredefinedMetricType"
            ) or ("custom metric" if "CustomizedMetricSpecification" in tracking else None)
            if metric:
                policies.append(f"{metric} {tracking.get('TargetValue')}")
            else:
                policies.append(str(policy_props.get("PolicyType", "policy")))
        text = f"{props.get('MinCapacity')}-{props.get('MaxCapacity')} instances"
        found[name] = ", ".join([text, *policies])
    return found


def alarms(template: Template | None) -> dict[str, str]:
    """`alarm name -> "metric op threshold"` for every CloudWatch alarm."""
    found = {}
    for logical, alarm in _resources(template, ALARM).items():
        props = _props(alarm)
        name = props.get("AlarmName")
        label = name if isinstance(name, str) else logical
        metric = props.get("MetricName") or "expression"
        found[label] = (
            f"{metric} {props.get('ComparisonOperator', '?')} {props.get('Threshold', '?')}"
        )
    return found


def _compare(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
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


# --- the diff engine --------------------------------------------------------------------------


def run_engine(pairs: Sequence[tuple[str, Template | None, Template | None]]) -> list[EngineResult]:
    """Diff each (stack, old, new) with `@aws-cdk/cloudformation-diff` in one node process."""
    if not pairs:
        return []
    payload = json.dumps([{"stack": name, "old": old, "new": new} for name, old, new in pairs])
    try:
        done = subprocess.run(
            ["node", str(ENGINE)],
            input=payload,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"},
            cwd=ENGINE.parent,
        )
    except FileNotFoundError as error:
        raise DiffError("node is not on PATH; the diff engine needs Node 20+") from error
    if done.returncode != 0:
        raise DiffError(f"the diff engine failed:\n{done.stderr.strip()}")
    results = []
    for item in json.loads(done.stdout):
        results.append(
            EngineResult(
                empty=bool(item["empty"]),
                resources=tuple(
                    ResourceChange(
                        logical_id=resource["logicalId"],
                        type=resource.get("type") or "?",
                        impact=resource["impact"],
                        path=resource.get("path"),
                        properties=tuple(p["name"] for p in resource["properties"]),
                    )
                    for resource in item["resources"]
                ),
                iam_statements=tuple(tuple(row) for row in item["iam"]["statements"][1:]),
                iam_managed_policies=tuple(
                    tuple(row) for row in item["iam"]["managedPolicies"][1:]
                ),
                iam_broadened=bool(item["iam"]["broadened"]),
                iam_changed=bool(item["iam"]["changed"]),
                security_groups=bool(item["securityGroups"]),
                text=item["text"],
                security_text=item["securityText"],
            )
        )
    return results


# --- classification ---------------------------------------------------------------------------


def classify(
    name: str, old: Template | None, new: Template | None, engine: EngineResult
) -> StackChange:
    """Name the kinds of change and every destructive one."""
    model = str(_bundle(new).get("model") or _bundle(old).get("model") or "-")
    destructive: list[str] = []
    kinds: list[str] = []
    if new is None and old is not None:
        retained = _retained_buckets(old)
        all_buckets = _resources(old, BUCKET)
        if retained == len(all_buckets):
            what = "bucket retained" if len(all_buckets) <= 1 else "buckets retained"
        else:
            what = f"{len(all_buckets) - retained} bucket(s) DELETED with their data"
        destructive.append(f"`{name}`: stack will be destroyed, {what}")
        kinds.append("stack destroyed")
        return StackChange(name, old, new, engine, tuple(destructive), tuple(kinds), model)
    if old is None:
        kinds.append("new stack")
    else:
        for change in engine.resources:
            label = STATEFUL.get(change.type)
            if label and change.impact in LOSSY_IMPACTS:
                because = f" (changing {', '.join(change.properties)})" if change.properties else ""
                destructive.append(
                    f"`{name}`: {label} `{change.logical_id}` will be "
                    f"{IMPACT_WORDS[change.impact]}{because}"
                )
        old_sha, new_sha = _bundle(old).get("sha256"), _bundle(new).get("sha256")
        if old_sha != new_sha:
            kinds.append("new model version")
        if rollout_plan(old) != rollout_plan(new):
            kinds.append("rollout")
        if variants(old) != variants(new) or scaling(old) != scaling(new):
            kinds.append("capacity")
        if alarms(old) != alarms(new):
            kinds.append("alarms")
        if iam_changes(old, new, engine) or engine.security_groups:
            kinds.append("IAM")
        if destructive:
            kinds.append("destructive")
        if not kinds and not engine.empty:
            kinds.append("other resources")
    iam = iam_changes(old, new, engine)
    return StackChange(name, old, new, engine, tuple(destructive), tuple(kinds), model, iam)


def iam_changes(
    old: Template | None, new: Template | None, engine: EngineResult
) -> tuple[tuple[str, ...], ...]:
    """The engine's IAM statement changes, minus grants that moved to the new bundle object."""
    old_sha, new_sha = _bundle(old).get("sha256"), _bundle(new).get("sha256")
    rows = list(engine.iam_statements) + list(engine.iam_managed_policies)
    if not (old_sha and new_sha and old_sha != new_sha):
        return tuple(rows)
    added = [row for row in rows if row[:1] == ("+",)]
    removed = [row for row in rows if row[:1] == ("-",)]
    moved = []
    for row in removed:
        follows = ("+", *(cell.replace(str(old_sha), str(new_sha)) for cell in row[1:]))
        if follows != row and follows in added:
            added.remove(follows)
            moved += [row, follows]
    return tuple(row for row in rows if row not in moved)


def _retained_buckets(template: Template) -> int:
    return sum(
        1
        for bucket in _resources(template, BUCKET).values()
        if bucket.get("DeletionPolicy") == "Retain"
    )


def compare(
    base: Path, head: Path, *, base_label: str = "base", head_label: str = "head"
) -> Report:
    """Diff every stack of two assemblies; stacks match by name."""
    old = {stack.name: stack.template for stack in read_stacks(base)}
    new = {stack.name: stack.template for stack in read_stacks(head)}
    names = sorted(set(old) | set(new))
    pairs = [(name, old.get(name), new.get(name)) for name in names]
    results = run_engine(pairs)
    stacks = tuple(
        classify(name, before, after, result)
        for (name, before, after), result in zip(pairs, results, strict=True)
    )
    return Report(stacks, base_label, head_label)


# --- Markdown ---------------------------------------------------------------------------------


def _cell(lines: Iterable[str]) -> str:
    text = "<br>".join(line.replace("|", "\\|") for line in lines)
    return text or "-"


def _sha(value: Any) -> str:
    return f"`{str(value)[:12]}`" if value else "-"


def summary_row(stack: StackChange) -> str:
    old_sha, new_sha = _bundle(stack.old).get("sha256"), _bundle(stack.new).get("sha256")
    if stack.new is None:
        artifact = f"{_sha(old_sha)} → (none)"
    elif stack.old is None or old_sha == new_sha:
        artifact = _sha(new_sha) + ("" if stack.old is None else " (unchanged)")
    else:
        artifact = f"{_sha(old_sha)} → {_sha(new_sha)}"
    endpoint_moves = stack.new is not None and any(
        change.type in (ENDPOINT, ENDPOINT_CONFIG) for change in stack.engine.resources
    )
    old_plan, new_plan = rollout_plan(stack.old), rollout_plan(stack.new)
    if stack.new is None:
        rollout = "-"
    elif old_plan != new_plan and stack.old is not None:
        rollout = f"{old_plan} → **{new_plan}**"
    elif endpoint_moves:
        rollout = new_plan
    else:
        rollout = "no endpoint update"
    capacity = _compare(variants(stack.old), variants(stack.new)) + _compare(
        scaling(stack.old), scaling(stack.new)
    )
    alarm_lines = _compare(alarms(stack.old), alarms(stack.new))
    if stack.new is None:
        capacity, alarm_lines = ["all removed"], ["all removed"] if alarms(stack.old) else []
    kinds = ", ".join(stack.kinds) or "other"
    if stack.destructive:
        kinds = f"⛔ **{kinds}**"
    return (
        f"| `{stack.name}` | {kinds} | {artifact} | {_cell([rollout])} | {_cell(capacity)} | "
        f"{_cell(alarm_lines)} |"
    )


SUMMARY_HEADER = (
    "| stack | change | artifact sha256 | rollout plan | instances & scaling | alarms |\n"
    "|---|---|---|---|---|---|"
)


def _callouts(report: Report) -> list[str]:
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


def _grant(row: tuple[str, ...]) -> str:
    """`+ Allow s3:* on * to AWS:${Role}` from an engine statement row."""
    if len(row) == 3:  # managed policy: sign, resource, policy ARN
        return f"{row[0]} managed policy `{row[2]}` on `{row[1]}`"
    sign, resource, effect, action, principal, *condition = (*row, "", "", "", "", "")[:6]
    where = " when " + " ".join(condition[0].split()) if condition and condition[0] else ""
    flat = ", ".join(resource.split("\n"))
    return f"{sign} {effect} `{', '.join(action.split())}` on `{flat}` to `{principal}`{where}"


def _fence(text: str) -> str:
    longest = max((len(run) for run in text.split("\n") if set(run) == {"`"}), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}diff\n{text.rstrip()}\n{ticks}"


def details_block(stack: StackChange, budget: int | None = None) -> str:
    """The engine's full output for one stack, collapsed; cut to `budget` characters if given."""
    count = len(stack.engine.resources)
    head = f"<details><summary><code>{stack.name}</code>: {count} resource change(s)</summary>\n\n"
    tail = "\n</details>"
    body_text = stack.engine.text  # the engine's own output already leads with IAM changes
    body = _fence(body_text)
    block = head + body + tail
    if budget is None or len(block) <= budget:
        return block
    note = "\n… cut to fit the comment; `make diff BASE=<ref>` prints it all.\n"
    room = budget - len(head) - len(tail) - len(note) - 20
    if room < 200:
        return ""
    return head + _fence(body_text[:room]) + note + tail


def render(report: Report, *, limit: int = DEFAULT_LIMIT) -> str:
    """Markdown for the PR comment. Detail is dropped before summary to stay under `limit`."""
    title = f"## CDK diff: `{report.head_label}` against `{report.base_label}`"
    changed = report.changed
    if not changed:
        text = f"{MARKER}\n{title}\n\n**No changes** to any of the {len(report.stacks)} stack(s)."
        return text[:limit]
    parts = [MARKER, title, ""]
    parts += [block + "\n" for block in _callouts(report)]
    by_model: dict[str, list[StackChange]] = {}
    for stack in changed:
        by_model.setdefault(stack.model, []).append(stack)
    summary: list[str] = []
    for model in sorted(by_model):
        summary += [f"### Model `{model}`", "", SUMMARY_HEADER]
        summary += [summary_row(stack) for stack in by_model[model]]
        summary.append("")
    unchanged = [stack.name for stack in report.stacks if not stack.changed]
    if unchanged:
        summary.append(f"Unchanged: {', '.join(f'`{name}`' for name in unchanged)}.\n")
    text = "\n".join(parts + summary)
    if len(text) > limit:
        note = "\n\n… summary cut to fit the comment; run `make diff BASE=<ref>` for all of it."
        return text[: limit - len(note)].rsplit("\n", 1)[0] + note
    detail_parts = ["### Details", ""]
    room = limit - len(text) - len("\n".join(detail_parts)) - 200
    omitted = []
    for stack in changed:
        block = details_block(stack, budget=room)
        if not block:
            omitted.append(stack.name)
            continue
        detail_parts.append(block)
        detail_parts.append("")
        room -= len(block) + 2
    if omitted:
        detail_parts.append(
            f"Details left out to fit the comment: {', '.join(f'`{n}`' for n in omitted)}; "
            "`make diff BASE=<ref>` prints them."
        )
    return (text + "\n" + "\n".join(detail_parts)).rstrip() + "\n"


# --- command ----------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", type=Path, required=True, help="cloud assembly of the base")
    parser.add_argument("--head", type=Path, required=True, help="cloud assembly of the change")
    parser.add_argument("--base-label", default="base", help="what to call the base in the title")
    parser.add_argument("--head-label", default="head", help="what to call the head in the title")
    parser.add_argument("--output", type=Path, help="write the Markdown here instead of stdout")
    parser.add_argument(
        "--limit", type=int, default=DEFAULT_LIMIT, help="maximum characters of Markdown"
    )
    parser.add_argument(
        "--fail-on-destructive",
        action="store_true",
        help=f"exit {EXIT_DESTRUCTIVE} if a bucket or endpoint is replaced or deleted, "
        "or a stack destroyed",
    )


def run(args: argparse.Namespace) -> int:
    try:
        report = compare(
            args.base, args.head, base_label=args.base_label, head_label=args.head_label
        )
    except (DiffError, FileNotFoundError) as error:
        print(f"diff: {error}", file=sys.stderr)
        return 1
    markdown = render(report, limit=args.limit)
    if args.output:
        args.output.write_text(markdown)
    else:
        print(markdown)
    if report.destructive:
        print(f"diff: {len(report.destructive)} destructive change(s)", file=sys.stderr)
        if args.fail_on_destructive:
            return EXIT_DESTRUCTIVE
    return 0
