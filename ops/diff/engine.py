"""The bridge to the CDK's own diff engine: `@aws-cdk/cloudformation-diff`, run by node.

`cfn_diff.js` beside this module takes (stack, old template, new template) triples on stdin and
answers with JSON: each resource's change and its impact (replace, destroy, orphan), the IAM and
security group changes as the engine tabulates them, and the engine's own text, which is what
`cdk diff` prints. One node process diffs every stack of a change, so start-up is paid once.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENGINE = Path(__file__).with_name("cfn_diff.js")


class DiffError(Exception):
    """The diff engine could not run or returned something unreadable."""


@dataclass(frozen=True)
class ResourceChange:
    """One resource the engine says changes, and how (`WILL_REPLACE`, `WILL_DESTROY`, ...)."""

    logical_id: str
    type: str
    impact: str
    path: str | None
    properties: tuple[str, ...]


@dataclass(frozen=True)
class EngineResult:
    """What `@aws-cdk/cloudformation-diff` says about one stack.

    `iam_statements` and `iam_managed_policies` are the engine's table rows without the header:
    (sign, resource, effect, action, principal, condition) and (sign, resource, policy ARN).
    """

    empty: bool
    resources: tuple[ResourceChange, ...]
    iam_statements: tuple[tuple[str, ...], ...]
    iam_managed_policies: tuple[tuple[str, ...], ...]
    iam_broadened: bool
    iam_changed: bool
    security_groups: bool
    text: str
    security_text: str


def _result(item: Mapping[str, Any]) -> EngineResult:
    """One stack's entry of the engine's JSON answer."""
    return EngineResult(
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
        iam_managed_policies=tuple(tuple(row) for row in item["iam"]["managedPolicies"][1:]),
        iam_broadened=bool(item["iam"]["broadened"]),
        iam_changed=bool(item["iam"]["changed"]),
        security_groups=bool(item["securityGroups"]),
        text=item["text"],
        security_text=item["securityText"],
    )


def run_engine(
    pairs: Sequence[tuple[str, Mapping[str, Any] | None, Mapping[str, Any] | None]],
) -> list[EngineResult]:
    """Diff each (stack, old, new) with `@aws-cdk/cloudformation-diff` in one node process.

    A missing template (None) is a stack that is created or destroyed.

    Raises:
        DiffError: node is missing or the engine failed; the message says which.
    """
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
    return [_result(item) for item in json.loads(done.stdout)]
