"""Reading synthesized templates in tests: the resources of a type, the one resource a stack has
of a type, its properties, a role's policy statements, the alarms by name, the acknowledged
findings.

Built on `stacks.templates`, the reader the rule pack, the diff and the verifier use, so a test
sees a resource of a type as the tools do. The helpers hand back the template's own objects, so
a test that breaks a template on purpose edits what they return. A test that expects exactly one
resource says so with `only`, which fails with the logical ids it found otherwise. The two
scanners that read template files run from here too: cfn-lint (.venv) and checkov (its own
.venv-checkov), through the verdict cache (`tests.verdicts`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from stacks.templates import resources_of
from tests import verdicts
from tests.verdicts import Scanner

Template = dict[str, Any]


def resources(template: Template, kind: str, *, prefix: str = "") -> dict[str, dict[str, Any]]:
    """The resources of `kind` by logical id; with `prefix`, only the ids that start with it
    (one construct's resource among others of its type, e.g. the serving role's policy)."""
    own: dict[str, dict[str, Any]] = template["Resources"]
    return {k: own[k] for k in resources_of(template, kind) if k.startswith(prefix)}


def only(template: Template, kind: str, *, prefix: str = "") -> tuple[str, dict[str, Any]]:
    """The logical id and the resource of the one resource of `kind` (with `prefix`)."""
    found = resources(template, kind, prefix=prefix)
    assert len(found) == 1, f"one {kind} {prefix}expected, found {sorted(found)}"
    (item,) = found.items()
    return item


def only_properties(template: Template, kind: str, *, prefix: str = "") -> dict[str, Any]:
    """The `Properties` of the one resource of `kind` (with `prefix`)."""
    _, resource = only(template, kind, prefix=prefix)
    own: dict[str, Any] = resource["Properties"]
    return own


def policy_statements(template: Template, *, prefix: str) -> list[dict[str, Any]]:
    """The statements of the one `AWS::IAM::Policy` whose logical id starts with `prefix`."""
    document = only_properties(template, "AWS::IAM::Policy", prefix=prefix)["PolicyDocument"]
    statements: list[dict[str, Any]] = document["Statement"]
    return statements


def statements_by_sid(template: Template, *, prefix: str) -> dict[str, dict[str, Any]]:
    """The same statements by `Sid` (the project names each statement it writes)."""
    return {s["Sid"]: s for s in policy_statements(template, prefix=prefix)}


def alarms_by_name(template: Template) -> dict[str, dict[str, Any]]:
    """Each CloudWatch alarm's properties, by `AlarmName`."""
    return {
        alarm["Properties"]["AlarmName"]: alarm["Properties"]
        for alarm in resources(template, "AWS::CloudWatch::Alarm").values()
    }


def acknowledgements(outdir: Path, pattern: str = "*.metadata.json") -> dict[tuple[str, str], str]:
    """(construct path, acknowledged finding id) -> reason, from a cloud assembly's metadata."""
    found: dict[tuple[str, str], str] = {}
    for path in outdir.glob(pattern):
        for construct, entries in json.loads(path.read_text()).items():
            for entry in entries:
                if entry["type"] == "aws:cdk:acknowledged-rules":
                    found.update({(construct, k): v for k, v in entry["data"].items()})
    return found


CFN_LINT = Path(sys.executable).parent / "cfn-lint"
# cfn-lint reads .cfnlintrc from the working and home directories and its regions from the
# environment (AWS_REGION, else AWS_DEFAULT_REGION); both are part of a remembered verdict's key.
CFN_LINT_SCANNER = Scanner(
    name="cfn-lint",
    executable=CFN_LINT,
    config_files=(".cfnlintrc", ".cfnlintrc.yaml", ".cfnlintrc.yml"),
    env_prefixes=("AWS_REGION", "AWS_DEFAULT_REGION", "CFNLINT"),
)


def cfn_lint(
    templates: Iterable[Path | str], *, parseable: bool = True
) -> subprocess.CompletedProcess[str]:
    """cfn-lint (from this environment) over template files; findings are on stdout.

    Through the verdict cache (`tests.verdicts`): templates cfn-lint has judged before, with the
    same cfn-lint, config and regions, give the findings it gave then."""
    paths = [Path(t) for t in templates]
    options = ["--format", "parseable"] if parseable else []
    command = [str(CFN_LINT), *options, *(str(p) for p in paths)]
    return verdicts.run(CFN_LINT_SCANNER, command, paths, env=dict(os.environ), timeout=300)


def assert_cfn_lint_clean(templates: Iterable[Path | str]) -> None:
    """Zero cfn-lint findings (and exit 0) over the template files."""
    result = cfn_lint(templates)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


CHECKOV = Path(__file__).resolve().parents[1] / ".venv-checkov" / "bin" / "checkov"


# checkov reads .checkov.yaml from the working and home directories and its settings from
# CKV_*/BC_*/CHECKOV_* variables.
CHECKOV_SCANNER = Scanner(
    name="checkov",
    executable=CHECKOV,
    config_files=(".checkov.yaml", ".checkov.yml"),
    env_prefixes=("CKV_", "BC_", "CHECKOV_", "PRISMA_"),
)


def checkov(templates: Iterable[Path | str]) -> list[dict[str, Any]]:
    """checkov's CloudFormation checks over template files: its JSON report's `results`, one
    per template scanned (`failed_checks`, `skipped_checks` with their `suppress_comment`).

    Offline: no guidelines download, no update check. PYTHONPATH is dropped so that checkov,
    in its own environment, imports nothing of this checkout's. Through the verdict cache
    (`tests.verdicts`), as cfn-lint is.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    paths = [Path(t) for t in templates]
    files = [option for p in paths for option in ("--file", str(p))]
    options = ["--output", "json", "--compact", "--skip-download"]
    result = verdicts.run(
        CHECKOV_SCANNER,
        [str(CHECKOV), "--framework", "cloudformation", *files, *options],
        paths,
        env={**env, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"},
        timeout=600,
        complete=lambda run: _report(run.stdout) is not None,
    )
    report = _report(result.stdout)
    if report is None:
        message = f"checkov gave no report (exit {result.returncode}):\n{result.stderr}"
        raise AssertionError(message)
    reports = report if isinstance(report, list) else [report]
    return [r["results"] for r in reports if r.get("check_type") == "cloudformation"]


def _report(stdout: str) -> Any:
    """checkov's JSON report, or None when it wrote none."""
    try:
        return json.loads(stdout)
    except json.JSONDecodeError:
        return None
