"""Check deployed endpoints after `cdk deploy`: `python -m ops verify --stacks 'Staging-*'`.

For every stack of the assembly that matches: the endpoint is InService on the EndpointConfig
that the deployed stack declares (CloudFormation's physical resource), and the deployed stack
carries the assembly's bundle. An endpoint InService on another config is a silent rollback:
SageMaker's guardrails rolled the update back; the alarms that fired are named, as they are when
CloudFormation rolled the stack back after SageMaker's rollback (UPDATE_ROLLBACK_COMPLETE).
`--smoke` invokes each endpoint with the model's smoke request (its config's `smoke` section:
`example.json` by default) and checks the answer against the section's expectation (`ops.smoke`;
without one: HTTP 200 and a body that parses as the accept type). Uses boto3's default session,
so profiles and AWS_ENDPOINT_URL apply.

Exit codes: 0 every check passed; 1 a check failed or nothing matched.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from configs.errors import ConfigError
from configs.loader import MODEL_CONFIG, Project, load_project
from ops import smoke as smoke_check
from stacks.metadata import read_bundle
from stacks.templates import StackTemplate, properties, read_assembly

ENDPOINT = "AWS::SageMaker::Endpoint"
ENDPOINT_CONFIG = "AWS::SageMaker::EndpointConfig"
# The AWS services the checks call.
Service = Literal["cloudformation", "cloudwatch", "sagemaker", "sagemaker-runtime"]


@dataclass
class Result:
    """One stack's checks: `problems` empty means it passed."""

    stack: str
    endpoint: str = "-"
    status: str = "-"
    config: str = "-"
    expected_config: str = "-"
    smoke: str = "not run"
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Declared:
    """What the assembly's template says the stack's endpoint should look like."""

    endpoint_name: str
    config_logical_id: str
    rollback_alarms: tuple[Any, ...]
    model: str | None
    sha256: str | None


def declared(stack: StackTemplate) -> Declared:
    """Read the endpoint name, its config's logical id and rollback alarms from the template."""
    endpoints = stack.resources(ENDPOINT)
    if len(endpoints) != 1:
        raise ValueError(f"{stack.name}: expected one {ENDPOINT}, found {len(endpoints)}")
    props = properties(next(iter(endpoints.values())))
    output = stack.template.get("Outputs", {}).get("EndpointName", {}).get("Value")
    name = output if isinstance(output, str) else props.get("EndpointName")
    if not isinstance(name, str):
        raise ValueError(f"{stack.name}: the endpoint has no literal name to look up")
    reference = props.get("EndpointConfigName")
    if isinstance(reference, Mapping) and "Fn::GetAtt" in reference:
        logical = reference["Fn::GetAtt"][0]
    elif isinstance(reference, Mapping) and "Ref" in reference:
        logical = reference["Ref"]
    else:
        configs = list(stack.resources(ENDPOINT_CONFIG))
        if len(configs) != 1:
            raise ValueError(f"{stack.name}: cannot tell which EndpointConfig the endpoint uses")
        logical = configs[0]
    deployment = props.get("DeploymentConfig", {}) or {}
    alarms = tuple(
        alarm.get("AlarmName")
        for alarm in deployment.get("AutoRollbackConfiguration", {}).get("Alarms", [])
    )
    bundle = stack.bundle
    return Declared(
        endpoint_name=name,
        config_logical_id=str(logical),
        rollback_alarms=alarms,
        model=bundle.model if bundle else None,
        sha256=bundle.sha256 if bundle else None,
    )


def _config_name(physical_id: str) -> str:
    """CloudFormation's physical id of an EndpointConfig is its ARN; the name is the last part."""
    return physical_id.split(":endpoint-config/", 1)[-1]


def _same(a: str, b: str) -> bool:
    # SageMaker ARNs carry names lower-cased; names themselves are case-insensitive and unique.
    return a.lower() == b.lower()


def _message(error: ClientError | BotoCoreError) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Message") or error)
    return str(error)


class Verifier:
    """Runs the checks with one boto3 session."""

    def __init__(self, session: boto3.Session, *, root: Path) -> None:
        self.session = session
        self.root = root
        self._clients: dict[tuple[str, str | None], Any] = {}
        self._loaded: Project | str | None = None

    def client(self, service: Service, region: str | None) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self.session.client(service, region_name=region)
        return self._clients[key]

    def _check_bundle(
        self, stack: StackTemplate, want: Declared, result: Result, region: str | None
    ) -> None:
        if not want.sha256:
            return
        cfn = self.client("cloudformation", region)
        try:
            body = cfn.get_template(StackName=stack.name).get("TemplateBody", {})
        except ClientError:
            return
        if isinstance(body, str):
            try:
                body = json.loads(body)
            except json.JSONDecodeError:
                return
        bundle = read_bundle(body)
        deployed_sha = bundle.sha256 if bundle else None
        if deployed_sha and deployed_sha != want.sha256:
            result.problems.append(
                f"the deployed stack carries bundle {deployed_sha[:12]}, "
                f"the assembly {want.sha256[:12]}: was this assembly deployed?"
            )

    def _fired_alarms(
        self, want: Declared, physical: Mapping[str, str], region: str | None
    ) -> list[str]:
        names = []
        for alarm in want.rollback_alarms:
            if isinstance(alarm, str):
                names.append(alarm)
            elif isinstance(alarm, Mapping) and alarm.get("Ref") in physical:
                names.append(physical[alarm["Ref"]])
        if not names:
            return []
        cloudwatch = self.client("cloudwatch", region)
        fired = []
        try:
            found = cloudwatch.describe_alarms(AlarmNames=names).get("MetricAlarms", [])
            fired += [a["AlarmName"] for a in found if a.get("StateValue") == "ALARM"]
            for name in names:
                if name in fired:
                    continue
                history = cloudwatch.describe_alarm_history(
                    AlarmName=name, HistoryItemType="StateUpdate", MaxRecords=20
                ).get("AlarmHistoryItems", [])
                if any("to ALARM" in item.get("HistorySummary", "") for item in history):
                    fired.append(name)
        except ClientError:
            return fired
        return fired

    def _project(self) -> Project | str:
        """The project's config (loaded once), or why it cannot be read."""
        if self._loaded is None:
            try:
                self._loaded = load_project(self.root)
            except ConfigError as error:
                self._loaded = str(error)
            except OSError as error:
                self._loaded = f"cannot read the project at {self.root}: {error}"
        return self._loaded

    def _smoke(self, want: Declared, region: str | None, result: Result) -> None:
        def failed(problem: str) -> None:
            result.smoke = "failed"
            result.problems.append(f"smoke test of `{want.endpoint_name}`: {problem}")

        project = self._project()
        if isinstance(project, str):
            failed(project)
            return
        source = project.models.get(str(want.model))
        if source is None:
            failed(f"no model {want.model!r} under {self.root / 'models'}")
            return
        config = source.file.smoke
        path = source.folder / config.request
        if not path.is_file():
            failed(f"no smoke request at {path} (smoke.request in {source.folder / MODEL_CONFIG})")
            return
        runtime = self.client("sagemaker-runtime", region)
        try:
            response = runtime.invoke_endpoint(
                EndpointName=want.endpoint_name,
                Body=path.read_bytes(),
                ContentType=config.content_type,
                Accept=config.accept,
            )
            status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            content_type, body = str(response.get("ContentType", "")), response["Body"].read()
        except ClientError as error:
            # The model's own error answer is a ModelError carrying its status and body.
            original = error.response.get("OriginalStatusCode")
            if original is None:
                failed(f"invoke with {path} failed: {_message(error)}")
                return
            status, content_type = int(str(original)), ""
            body = str(error.response.get("OriginalMessage", "")).encode()
        unmet = smoke_check.check(
            config, source.file.evaluation, status=status, content_type=content_type, body=body
        )
        for problem in unmet:
            failed(f"{source.folder / MODEL_CONFIG} {problem} (request {path.name})")
        if not unmet:
            result.smoke = smoke_check.passed(config)

    def check(self, stack: StackTemplate, region: str | None, *, smoke: bool) -> Result:
        result = Result(stack.name)
        try:
            want = declared(stack)
        except ValueError as error:
            result.problems.append(str(error))
            return result
        result.endpoint = want.endpoint_name
        cfn = self.client("cloudformation", region)
        sagemaker = self.client("sagemaker", region)
        try:
            deployed = cfn.describe_stacks(StackName=stack.name)["Stacks"][0]
            resources = cfn.describe_stack_resources(StackName=stack.name)["StackResources"]
        except ClientError as error:
            result.problems.append(f"stack `{stack.name}` is not deployed: {_message(error)}")
            return result
        status = deployed.get("StackStatus", "?")
        if status.endswith("ROLLBACK_COMPLETE") or status.endswith("_FAILED"):
            result.problems.append(f"stack `{stack.name}` is {status}")
        self._check_bundle(stack, want, result, region)
        physical = {r["LogicalResourceId"]: r.get("PhysicalResourceId", "") for r in resources}
        if want.config_logical_id not in physical:
            result.problems.append(
                f"the deployed stack has no EndpointConfig `{want.config_logical_id}`"
            )
            return result
        expected = _config_name(physical[want.config_logical_id])
        result.expected_config = expected
        try:
            endpoint = sagemaker.describe_endpoint(EndpointName=want.endpoint_name)
        except ClientError as error:
            result.problems.append(f"endpoint `{want.endpoint_name}` not found: {_message(error)}")
            return result
        result.status = endpoint.get("EndpointStatus", "?")
        result.config = endpoint.get("EndpointConfigName", "?")
        if result.status != "InService":
            reason = endpoint.get("FailureReason")
            result.problems.append(
                f"endpoint `{want.endpoint_name}` is {result.status}"
                + (f": {reason}" if reason else "")
            )
        elif not _same(result.config, expected) or status == "UPDATE_ROLLBACK_COMPLETE":
            fired = self._fired_alarms(want, physical, region)
            because = (
                f"; alarm(s) that fired: {', '.join(f'`{a}`' for a in fired)}"
                if fired
                else "; no rollback alarm is in ALARM or went there recently"
            )
            if _same(result.config, expected):  # SageMaker rolled back, then CloudFormation
                reason = endpoint.get("FailureReason") or "no FailureReason"
                result.problems.append(
                    f"rolled back: `{want.endpoint_name}` stayed on `{result.config}` "
                    f"({reason}){because}"
                )
            else:
                result.problems.append(
                    f"silent rollback: `{want.endpoint_name}` is InService on `{result.config}`, "
                    f"not on the stack's `{expected}`{because}"
                )
        if smoke and result.ok:
            self._smoke(want, region, result)
        return result


def select(stacks: Sequence[StackTemplate], patterns: Sequence[str]) -> list[StackTemplate]:
    return [s for s in stacks if any(fnmatch.fnmatchcase(s.name, p) for p in patterns)]


def summary(results: Sequence[Result], *, smoke: bool) -> str:
    """Markdown for the job summary."""
    passed = all(result.ok for result in results)
    lines = [
        f"### Verify: {'all endpoints healthy' if passed else 'FAILED'}",
        "",
        "| stack | endpoint | status | endpoint config | declared config |"
        + (" smoke |" if smoke else ""),
        "|---|---|---|---|---|" + ("---|" if smoke else ""),
    ]
    for result in results:
        mark = "✅" if result.ok else "❌"
        row = (
            f"| {mark} `{result.stack}` | `{result.endpoint}` | {result.status} | "
            f"`{result.config}` | `{result.expected_config}` |"
        )
        lines.append(row + (f" {result.smoke} |" if smoke else ""))
    problems = [(r.stack, p) for r in results for p in r.problems]
    if problems:
        lines += ["", "**Problems**", ""]
        lines += [f"- `{stack}`: {problem}" for stack, problem in problems]
    return "\n".join(lines) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--assembly", type=Path, default=Path("cdk.out"), help="cloud assembly")
    parser.add_argument(
        "--stacks",
        action="append",
        required=True,
        help="stack name pattern, e.g. 'Staging-*' (repeatable)",
    )
    parser.add_argument("--smoke", action="store_true", help="invoke each endpoint once")
    parser.add_argument("--summary", type=Path, help="append the Markdown summary to this file")
    parser.add_argument(
        "--root", type=Path, default=Path(), help="project root holding models/ (default: .)"
    )


def run(args: argparse.Namespace) -> int:
    try:
        stacks = select(read_assembly(args.assembly), args.stacks)
    except FileNotFoundError as error:
        print(f"verify: {error}", file=sys.stderr)
        return 1
    if not stacks:
        print(f"verify: no stack in {args.assembly} matches {args.stacks}", file=sys.stderr)
        return 1
    verifier = Verifier(boto3.Session(), root=args.root)
    results = []
    for stack in stacks:
        try:
            results.append(verifier.check(stack, stack.region, smoke=args.smoke))
        except (ClientError, BotoCoreError) as error:
            results.append(Result(stack.name, problems=[f"AWS call failed: {_message(error)}"]))
    markdown = summary(results, smoke=args.smoke)
    print(markdown)
    if args.summary:
        with args.summary.open("a") as handle:
            handle.write(markdown)
    return 0 if all(result.ok for result in results) else 1
