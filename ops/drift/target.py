"""What `ops drift` checks, found from the config, the cloud assembly and the emulator.

The stack comes from the config (model and environment); its template in the cloud assembly
says which endpoint it deploys and, in its `ModelMonitoring` metadata, the monitoring
schedule's name, the features in request order and the baseline files built for it at synth
(they sit in the assembly as assets); the emulator says where
the endpoint's serving EndpointConfig captures data (`DataCaptureConfig.DestinationS3Uri`,
resolved as deployed). Each thing that can be missing fails with what to do about it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from configs.errors import ConfigError
from configs.loader import load_project
from ops.drift.check import Target
from stacks.templates import StackTemplate, properties, read_assembly

ENDPOINT = "AWS::SageMaker::Endpoint"


class DriftInputError(ValueError):
    """`ops drift` cannot run as asked; the message says why and what to do."""


def stack_name(*, root: Path, model: str, environment: str) -> str:
    """The stack that serves `model` in `environment`, from the config."""
    try:
        project = load_project(root)
    except ConfigError as error:
        raise DriftInputError(str(error).strip().splitlines()[0]) from error
    if environment not in project.environments:
        known = ", ".join(sorted(project.environments))
        raise DriftInputError(f"unknown environment {environment!r}; use one of: {known}")
    if model not in project.models:
        known = ", ".join(sorted(project.models))
        raise DriftInputError(f"unknown model {model!r}; use one of: {known}")
    return next(
        d.stack_name
        for d in project.deployments()
        if d.environment_name == environment and d.model_name == model
    )


def stack_template(assembly: Path, name: str) -> StackTemplate:
    try:
        stacks = read_assembly(assembly)
    except FileNotFoundError as error:
        raise DriftInputError(
            f"no cloud assembly at {assembly}: deploy first (`make deploy-local KEEP=1`) or "
            "pass --assembly <cdk.out>"
        ) from error
    for stack in stacks:
        if stack.name == name:
            return stack
    raise DriftInputError(f"{assembly} has no stack {name}; synthesize and deploy it first")


def _only(stack: StackTemplate, kind: str) -> dict[str, Any] | None:
    found = stack.resources(kind)
    return properties(next(iter(found.values()))) if len(found) == 1 else None


def _destination(endpoint: str, sagemaker: Any, *, stack: str, assembly: Path) -> str:
    try:
        config_name = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
        config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    except ClientError as error:
        raise DriftInputError(
            f"endpoint {endpoint} is not deployed on this emulator ("
            f"{error.response['Error'].get('Message', '')}): `make deploy-local` deploys "
            f"Staging-* only; deploy {stack} into it with AWS_ENDPOINT_URL=<its URL> "
            f"`npx cdk deploy {stack} --app {assembly}`, or run `make drill FAULT=drift=2sd`"
        ) from error
    capture = config.get("DataCaptureConfig") or {}
    if not capture or capture.get("EnableCapture") is False:
        raise DriftInputError(
            f"{config_name} captures no data, so there is nothing to check: turn on "
            "`data_capture: {enabled: true}` for this model and environment and deploy"
        )
    return str(capture["DestinationS3Uri"]).rstrip("/")


def resolve(*, assembly: Path, stack_name: str, client: Any) -> Target:
    """The deployed target of a drift check.

    Args:
        client: makes boto3 clients for the emulator (`client("sagemaker")`).
    """
    stack = stack_template(assembly, stack_name)
    endpoint = _only(stack, ENDPOINT)
    if endpoint is None:
        raise DriftInputError(f"{stack.name} has no single SageMaker endpoint to check")
    monitoring = stack.monitoring
    if monitoring is None:
        raise DriftInputError(
            f"data-quality monitoring is not enabled for {stack.name}: set "
            "`monitoring: {data_quality: {enabled: true}}` in the model's config (or its "
            "environment's) and synthesize again"
        )
    statistics = assembly / monitoring.statistics
    constraints = assembly / monitoring.constraints
    for path in (statistics, constraints):
        if not path.is_file():
            raise DriftInputError(f"{path} is missing from the assembly; synthesize again")
    name = str(endpoint.get("EndpointName"))
    try:
        destination = _destination(name, client("sagemaker"), stack=stack.name, assembly=assembly)
    except (ClientError, BotoCoreError) as error:
        raise DriftInputError(f"the emulator did not answer as expected: {error}") from error
    return Target(
        stack=stack.name,
        endpoint=name,
        schedule=monitoring.schedule_name,
        features=monitoring.features,
        destination=destination,
        statistics=statistics,
        constraints=constraints,
    )
