"""`configs/<env>.yaml`: one deployment stage (for example staging or prod) and who it pages."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, StrictBool, StrictStr, field_validator

from configs.base import Items, Strict
from configs.model import Overrides
from configs.tracking import Tracking

Email = Annotated[StrictStr, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
HttpsUrl = Annotated[StrictStr, Field(pattern=r"^https://[^\s]+$")]


class Paging(Strict):
    """Who is paged by the environment's alarms (SNS subscriptions)."""

    emails: Items[Email] = Field((), description="E-mail addresses subscribed to the paging topic.")
    https: Items[HttpsUrl] = Field(
        (),
        description="HTTPS endpoints (PagerDuty- or Opsgenie-style integrations) subscribed "
        "to the paging topic.",
    )


def _not_a_bool(value: object) -> object:
    """YAML's `true` is Python's True, which equals 1: a Literal that holds 1 would take it as
    one day, even in strict mode."""
    if isinstance(value, bool):
        raise ValueError(f"a number of days, not {str(value).lower()}")
    return value


LogRetentionDays = Annotated[
    Literal[
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
        2922, 3288, 3653,
    ],
    BeforeValidator(_not_a_bool),
]  # fmt: skip


class Environment(Strict):
    """`configs/<env>.yaml`: one deployment stage, for example staging or prod."""

    prefix: StrictStr = Field(
        description="Stack-name prefix: stacks are named '<prefix>-<model>'.",
        pattern=r"^[A-Z][A-Za-z0-9]{0,31}$",
    )
    account: StrictStr = Field(
        description="AWS account id as a quoted string of 12 digits, for example "
        "'123456789012' (unquoted, YAML reads it as a number and drops leading zeros).",
        pattern=r"^[0-9]{12}$",
    )
    region: StrictStr = Field(
        description="AWS region, for example 'eu-west-1'.",
        pattern=r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$",
    )
    tags: dict[
        Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=r"^[\w .:/=+\-@]+$")],
        Annotated[StrictStr, Field(max_length=256, pattern=r"^[\w .:/=+\-@]*$")],
    ] = Field(default_factory=dict, description="Tags applied to every resource.")
    paging: Paging = Paging()
    termination_protection: StrictBool = Field(
        False, description="Turn on CloudFormation termination protection for every stack."
    )
    log_retention_days: LogRetentionDays = Field(
        30, description="Retention of the endpoint's CloudWatch log group, in days."
    )
    defaults: Overrides = Field(
        default_factory=Overrides,
        description="Values every model gets in this environment unless its config says otherwise.",
    )
    tracking: Tracking = Field(
        default_factory=Tracking,
        description="Where training runs are recorded: tracking.mlflow.enabled gives each "
        "model that trains here a SageMaker managed MLflow tracking server.",
    )

    @field_validator("tags", mode="after")
    @classmethod
    def _no_aws_tags(cls, value: dict[str, str]) -> dict[str, str]:
        reserved = sorted(k for k in value if k.lower().startswith("aws:"))
        if reserved:
            raise ValueError(f"tag keys {reserved} use the reserved 'aws:' prefix")
        return value
