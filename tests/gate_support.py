"""The PR workflow's diff step and gate job, run here as GitHub would run them.

`render_step` runs the diff job's `render` step in bash with `make` replaced by a function that
writes what `make diff` would (the Markdown, and the outcome file named in DIFF_ARGS) and exits
as it would; `gate` evaluates each gate step's `if:` for given diff outputs and PR labels and
runs the steps that apply. Only the expression forms the workflow uses are understood.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import ROOT

PR_WORKFLOW = ROOT / ".github" / "workflows" / "pr.yml"


def workflow() -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load(PR_WORKFLOW.read_text())
    data["on"] = data.pop(True, data.get("on"))
    return data


FAKE_MAKE = r"""
make() {
  printf '%s\n' "$@" > make-args.txt
  printf 'the diff\n' > diff.md
  local outcome
  outcome=$(printf '%s\n' "$@" | sed -n 's/.*--outcome \([^ ]*\).*/\1/p')
  if [ -n "$FAKE_OUTCOME" ] && [ -n "$outcome" ]; then printf "$FAKE_OUTCOME" > "$outcome"; fi
  return "$FAKE_STATUS"
}
"""


def render_step(work: Path, *, status: int, outcome: str | None) -> tuple[int, dict[str, str]]:
    """Run the diff job's render step; return its exit code and the outputs it set.

    Args:
        status: what `make diff` exits with (make turns any failing recipe into 2).
        outcome: what `ops diff --outcome` writes (None: it never got that far).
    """
    step = next(s for s in workflow()["jobs"]["diff"]["steps"] if s.get("id") == "render")
    output, summary = work / "github-output", work / "step-summary"
    output.write_text("")
    done = subprocess.run(
        ["bash", "-e", "-c", FAKE_MAKE + step["run"]],
        cwd=work,
        env={
            **os.environ,
            "FAKE_STATUS": str(status),
            "FAKE_OUTCOME": outcome or "",
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line.split("=", 1) for line in output.read_text().splitlines() if "=" in line]
    return done.returncode, {key: value for key, value in lines}


def condition(expression: str, *, outputs: dict[str, str], labels: set[str]) -> bool:
    """A gate step's `if:` for the diff job's outputs and the PR's labels."""
    env = {k: str(v) for k, v in workflow()["env"].items()}
    text = re.sub(
        r"contains\(github\.event\.pull_request\.labels\.\*\.name, env\.(\w+)\)",
        lambda m: str(env[m.group(1)] in labels),
        expression,
    )
    text = re.sub(r"needs\.diff\.outputs\.(\w+)", lambda m: repr(outputs.get(m.group(1), "")), text)
    text = text.replace("&&", " and ").replace("||", " or ")
    text = re.sub(r"!(?!=)", " not ", text)
    return bool(eval(text, {"__builtins__": {}}, {}))  # noqa: S307 - the workflow's own text


def gate(*, outputs: dict[str, str], labels: set[str]) -> list[str]:
    """Run the gate job's steps that apply; return the names of the steps that fail."""
    env = {**os.environ, **{k: str(v) for k, v in workflow()["env"].items()}}
    failed = []
    for step in workflow()["jobs"]["gate"]["steps"]:
        if "if" in step and not condition(step["if"], outputs=outputs, labels=labels):
            continue
        done = subprocess.run(
            ["bash", "-e", "-c", step["run"]], env=env, capture_output=True, check=False
        )
        if done.returncode != 0:
            failed.append(step.get("name", step["run"]))
    return failed
