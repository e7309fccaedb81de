"""cdk-nag wiring: the rule packs every app runs, and scoped acknowledgements."""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


def add_checks(app: App) -> None:
    """Run AwsSolutions and the project's SageMaker pack on every stack; an unacknowledged
    finding of either fails synth."""
    from stacks.nag_pack import SageMakerChecks  # the pack's rules import constructs

    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, verbose=True), SageMakerChecks(app, verbose=True)
    )


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one finding on one construct (and its children), with the reason.

    Findings that carry a detail are acknowledged one by one, for example
    `AwsSolutions-IAM5[Resource::*]`: there is no blanket rule-wide form.
    """
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))
