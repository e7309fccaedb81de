"""AWS::SageMaker::MlflowTrackingServer, which moto 5.2.5 has neither an API nor a model for.

A stack with tracking on (`tracking.mlflow.enabled`) declares one tracking server per model
that trains. The emulator records the server with the properties CloudFormation passes,
checked as CreateMlflowTrackingServer checks them (API_CreateMlflowTrackingServer: name,
artifact store URI, role ARN and size patterns), answers `Ref` with its name and
`Fn::GetAtt TrackingServerArn` with its ARN, as the resource type's schema says
(aws-resource-sagemaker-mlflowtrackingserver: the name is the primary identifier, the ARN its
one read-only property). Size, artifact store, version, maintenance window and automatic model
registration change in place (UpdateMlflowTrackingServer); a new name replaces the server.

The server does not run MLflow: nothing here answers the tracking API or the UI, so a drill or
a local deploy shows the server exists, not that runs reach it (`make train` records runs in a
local store instead). Servers are kept on moto's SageMaker backend of their account and region,
so they are reset with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from moto.sagemaker import models as sm
from moto.sagemaker.exceptions import ValidationError

from ops.emulator.extensions.resources.base import ProjectResource, Props, flag

_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
_STORE = re.compile(r"^s3://([^/]+)/?(.*)$")
_ROLE = re.compile(r"^arn:aws[a-z\-]*:iam::[0-9]{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")
SIZES = ("Small", "Medium", "Large")
_STORE_ATTRIBUTE = "project_mlflow_tracking_servers"


def tracking_servers(account_id: str, region_name: str) -> dict[str, CfnMlflowTrackingServer]:
    """The account's tracking servers in `region_name`, by name."""
    backend = sm.sagemaker_backends[account_id][region_name]
    servers: dict[str, CfnMlflowTrackingServer] = backend.__dict__.setdefault(_STORE_ATTRIBUTE, {})
    return servers


def _checked(name: str, props: Props) -> dict[str, Any]:
    """The server's settings from the template, refused as the API refuses them."""
    store = str(props.get("ArtifactStoreUri", ""))
    role = str(props.get("RoleArn", ""))
    size = str(props.get("TrackingServerSize", "Small"))
    problems = []
    if not _NAME.match(name):
        problems.append(f"TrackingServerName '{name}' does not match {_NAME.pattern}")
    if not _STORE.match(store):
        problems.append(f"ArtifactStoreUri '{store}' is not an S3 URI (s3://bucket/prefix)")
    if not _ROLE.match(role):
        problems.append(f"RoleArn '{role}' is not an IAM role ARN")
    if size not in SIZES:
        problems.append(f"TrackingServerSize '{size}' is not one of {', '.join(SIZES)}")
    if problems:
        raise ValidationError(message="; ".join(problems))
    return {
        "artifact_store_uri": store,
        "role_arn": role,
        "size": size,
        "mlflow_version": props.get("MlflowVersion"),
        "maintenance_window": props.get("WeeklyMaintenanceWindowStart"),
        "automatic_model_registration": flag(
            props.get("AutomaticModelRegistration"), default=False
        ),
    }


@dataclass(eq=False)
class CfnMlflowTrackingServer(ProjectResource):
    """A tracking server; `Ref` gives its name, `Fn::GetAtt TrackingServerArn` its ARN."""

    resource_type = "AWS::SageMaker::MlflowTrackingServer"
    name_property = "TrackingServerName"
    physical_id = "name"
    attributes: ClassVar = {"TrackingServerArn": "arn"}

    name: str
    arn: str
    settings: dict[str, Any] = field(default_factory=dict)
    tags: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def create(cls, *, name: str, props: Props, account_id: str, region_name: str) -> Self:
        servers = tracking_servers(account_id, region_name)
        if name in servers:
            raise ValidationError(message=f"Tracking server {name} already exists")
        arn = f"arn:aws:sagemaker:{region_name}:{account_id}:mlflow-tracking-server/{name}"
        server = cls(name, arn, _checked(name, props), list(props.get("Tags", [])))
        servers[name] = server
        return server

    def update(self, *, name: str, props: Props, account_id: str, region_name: str) -> Self:
        """UpdateMlflowTrackingServer changes the settings in place; a new name replaces it."""
        if name != self.name:
            return super().update(
                name=name, props=props, account_id=account_id, region_name=region_name
            )
        self.settings = _checked(name, props)
        self.tags = list(props.get("Tags", []))
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        tracking_servers(account_id, region_name).pop(self.name, None)
