"""The bridge to the CDK's own diff engine: `@aws-cdk/cloudformation-diff`, run by node.

`cfn_diff.js` beside this module takes (stack, old template, new template) triples, one request
per line of its stdin, and answers each with a line of JSON: each resource's change and its impact
(replace, destroy, orphan), the IAM and security group changes as the engine tabulates them, and
the engine's own text, which is what `cdk diff` prints.

The engine's first diff loads the CloudFormation resource specification (about a CPU-second,
measured: most of a one-stack diff), so a process keeps one node process for all its diffs and
closes it as it exits (`close`). A command diffs once; a test session diffs dozens of times.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import subprocess
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

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


class _Engine:
    """One running `node cfn_diff.js`: a request is a line on its stdin, its answer a line on its
    stdout. The engine exits when its stdin closes, so it ends with this process however that
    ends; stderr goes to a file, read when the engine fails."""

    def __init__(self) -> None:
        # Open as long as the engine runs; `close` closes it.
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            self.process = subprocess.Popen(
                ["node", str(ENGINE)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.stderr,
                env={**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"},
                cwd=ENGINE.parent,
            )
        except FileNotFoundError as error:
            self.stderr.close()
            raise DiffError("node is not on PATH; the diff engine needs Node 20+") from error
        self.owner = os.getpid()  # the process that started it (node's is process.pid)

    def ask(self, request: bytes) -> dict[str, Any]:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(request + b"\n")
            stdin.flush()
            line = stdout.readline()
        except BrokenPipeError:
            line = b""
        if not line:
            errors = self.errors()
            self.close()
            raise DiffError(f"the diff engine failed:\n{errors}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def errors(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace").strip()

    def close(self) -> None:
        if self.process.stdin is not None and not self.process.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.stderr.close()


_engine: _Engine | None = None
_lock = threading.Lock()


def close() -> None:
    """Stop this process's engine, if it started one (also done as the process exits)."""
    global _engine
    with _lock:
        if _engine is not None and _engine.owner == os.getpid():
            _engine.close()
        _engine = None


atexit.register(close)


def run_engine(
    pairs: Sequence[tuple[str, Mapping[str, Any] | None, Mapping[str, Any] | None]],
) -> list[EngineResult]:
    """Diff each (stack, old, new) with `@aws-cdk/cloudformation-diff`, in this process's engine.

    A missing template (None) is a stack that is created or destroyed.

    Raises:
        DiffError: node is missing or the engine failed; the message says which.
    """
    global _engine
    if not pairs:
        return []
    request = json.dumps([{"stack": name, "old": old, "new": new} for name, old, new in pairs])
    with _lock:
        if _engine is None or _engine.owner != os.getpid():  # none yet, or a forked parent's
            _engine = _Engine()
        engine = _engine
        try:
            answer = engine.ask(request.encode())
        except DiffError:
            _engine = None
            raise
    if "error" in answer:
        raise DiffError(f"the diff engine failed:\n{answer['error']}")
    return [_result(item) for item in answer["results"]]
