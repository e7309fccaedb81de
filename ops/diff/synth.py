"""Synthesize the base and the head for the PR diff: `python -m ops diff-synth`.

Only the stacks the change can affect are built (`ops.diff.scope`: when every changed file is
inside `models/<folder>/`, the deployments that read those folders; anything else changed builds
every stack), each side with app.py's own `-c stacks=` selection, and the two synths run at the
same time (each is mostly one Python process and one node process: two cores are used). A side
with nothing selected (the base of a change that only adds a model, say) gets an empty cloud
assembly instead of a synth. The scope is written as JSON for `python -m ops diff --scope`,
which says in the comment which stacks were compared.

Exit codes: 0 both sides synthesized; 1 git could not say what changed, or a synth failed (its
own output says why, above the line naming the side).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from configs.errors import ConfigError
from configs.loader import Project, load_project
from ops.diff.scope import Scope, ScopeError, changed_files, select

# What `cdk synth` writes for an app without stacks: a manifest with no artifacts.
EMPTY_MANIFEST = {"version": "48.0.0", "artifacts": {}}


@dataclass(frozen=True)
class Side:
    """One side of the diff: where its app.py runs, its project root and its cloud assembly."""

    name: str
    code: Path
    project: Path
    output: Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", type=Path, required=True, help="the base's source tree")
    parser.add_argument("--head", type=Path, required=True, help="the head's source tree")
    parser.add_argument("--base-out", type=Path, required=True, help="the base's cloud assembly")
    parser.add_argument("--head-out", type=Path, required=True, help="the head's cloud assembly")
    changed = parser.add_mutually_exclusive_group(required=True)
    changed.add_argument(
        "--changed-since",
        metavar="REF",
        help="what changed: `git diff --name-only REF` in --head, plus its untracked files",
    )
    changed.add_argument(
        "--changed-files", type=Path, help="what changed: a file of paths, one a line"
    )
    parser.add_argument(
        "--code",
        type=Path,
        help="run this tree's app.py for both sides, each with -c projectRoot=<its tree> "
        "(default: each side's own app.py)",
    )
    parser.add_argument("--scope", type=Path, required=True, help="write the scope (JSON) here")
    parser.add_argument("--bundle-cache", type=Path, required=True, help="the bundle cache")
    parser.add_argument("--cdk", default="npx cdk", help="the CDK CLI command (default: `npx cdk`)")
    parser.add_argument(
        "--everything", action="store_true", help="synthesize every stack whatever changed"
    )


def _load(root: Path) -> Project | None:
    """The side's project, or None when its configuration does not load (its synth says why)."""
    try:
        return load_project(root)
    except ConfigError:
        return None


def scope_of(args: argparse.Namespace) -> Scope:
    """The stacks each side builds."""
    if args.changed_since is not None:
        changed = changed_files(args.head, args.changed_since)
    else:
        changed = [line.strip() for line in args.changed_files.read_text().splitlines()]
        changed = [line for line in changed if line]
    head = _load(args.head)
    if head is None:
        return Scope(None, None, 0, reason="the head's configuration does not load")
    scope = select(base=_load(args.base), head=head, changed=changed)
    if args.everything:
        return Scope(None, None, scope.total, reason="--everything")
    return scope


def synth_command(
    side: Side, *, cdk: str, cache: Path, stacks: tuple[str, ...] | None
) -> list[str]:
    """`cdk synth` of one side; `stacks` None builds every stack."""
    command = [
        *cdk.split(), "synth", "--quiet",
        "--app", f"{sys.executable} app.py",
        "--output", str(side.output.resolve()),
        "--context", f"bundleCacheDir={cache.resolve()}",
    ]  # fmt: skip
    if side.project.resolve() != side.code.resolve():
        command += ["--context", f"projectRoot={side.project.resolve()}"]
    if stacks is not None:
        command += ["--context", f"stacks={','.join(stacks)}"]
    return command


def empty_assembly(output: Path) -> None:
    """A cloud assembly with no stacks, for a side where nothing was selected."""
    output.mkdir(parents=True, exist_ok=True)
    (output / "manifest.json").write_text(json.dumps(EMPTY_MANIFEST, indent=1) + "\n")


def synthesize(
    sides: list[tuple[Side, tuple[str, ...] | None]], *, cdk: str, cache: Path
) -> list[str]:
    """Run every side's synth at once; the names of the sides that failed."""
    running: list[tuple[Side, subprocess.Popen[bytes]]] = []
    for side, stacks in sides:
        if stacks == ():
            empty_assembly(side.output)
            continue
        command = synth_command(side, cdk=cdk, cache=cache, stacks=stacks)
        running.append((side, subprocess.Popen(command, cwd=side.code)))
    return [side.name for side, process in running if process.wait() != 0]


def _say(scope: Scope) -> str:
    if scope.everything:
        return f"every stack ({scope.reason})"
    return (
        f"{len(scope.compared)} of {scope.total} stacks (base {len(scope.base or ())}, "
        f"head {len(scope.head or ())}): only {', '.join(scope.folders)} changed"
    )


def run(args: argparse.Namespace) -> int:
    try:
        scope = scope_of(args)
    except (ScopeError, OSError) as error:
        print(f"diff-synth: {error}", file=sys.stderr)
        return 1
    args.scope.parent.mkdir(parents=True, exist_ok=True)
    args.scope.write_text(json.dumps(scope.to_json(), indent=1) + "\n")
    print(f"diff-synth: synthesizing {_say(scope)}", file=sys.stderr, flush=True)
    base = Side("base", args.code or args.base, args.base, args.base_out)
    head = Side("head", args.code or args.head, args.head, args.head_out)
    failed = synthesize(
        [(base, scope.base), (head, scope.head)], cdk=args.cdk, cache=args.bundle_cache
    )
    for name in failed:
        print(f"diff-synth: the {name}'s synth failed (its output is above)", file=sys.stderr)
    return 1 if failed else 0
