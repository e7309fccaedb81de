"""Change sets as the CDK CLI uses them: per stack, rebuilt on execution, failing like AWS.

moto 5.2.5's engine creates a change-set stack from an empty template and never rebuilds it, so
its Outputs and resolved parameters stay empty (an update with `UsePreviousValue` then fails
with a KeyError); it looks change sets up by name alone, so parallel deploys (every one is
named `cdk-deploy-change-set`) execute each other's; it errors on deleting a change set that
is already gone; a failed execution leaves the stack half-done instead of rolled back; and it
lacks UpdateTerminationProtection, which the CDK CLI calls for a protected stack (Prod-*).

An update runs as a stack operation (`operations`): ExecuteChangeSet answers while an endpoint
deployment bakes, the stack reports `UPDATE_IN_PROGRESS`, and another change set cannot be
executed on it until it settles. The statuses follow "Stack status codes" in the CloudFormation
User Guide (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html):
`UPDATE_COMPLETE_CLEANUP_IN_PROGRESS` while replaced resources are deleted,
`UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS` while the new ones are.
"""

from __future__ import annotations

import logging
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import CloudFormationError, ValidationError
from moto.cloudformation.models import ChangeSet, CloudFormationBackend, Stack
from moto.core.responses import ActionResult, EmptyResult

from ops.emulator.extensions import operations
from ops.emulator.extensions.cloudformation import (
    ResourceFailed,
    failure_reason,
    remove_all,
    remove_replaced,
    restore_replaced,
)
from ops.emulator.patching import Addition

logger = logging.getLogger(__name__)


class ChangeSetNotFound(CloudFormationError):
    """CloudFormation's ChangeSetNotFound (404): the CDK CLI waits for it after deleting."""

    code = "ChangeSetNotFoundException"


# moto's own function, kept before `patches()` replaces it.
_stock_create_change_set = CloudFormationBackend.create_change_set


def _find_change_set(
    backend: CloudFormationBackend, change_set_name: str, stack_name: str | None
) -> ChangeSet:
    if change_set_name in backend.change_sets:  # an ARN
        return backend.change_sets[change_set_name]
    matches = [
        change_set
        for change_set in backend.change_sets.values()
        if change_set.change_set_name == change_set_name
        and (stack_name is None or stack_name in (change_set.stack_name, change_set.stack_id))
    ]
    if not matches:
        raise ChangeSetNotFound(f"ChangeSet [{change_set_name}] does not exist")
    return matches[-1]


def describe_change_set(
    self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None
) -> ChangeSet:
    return _find_change_set(self, change_set_name, stack_name)


def delete_change_set(
    self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None
) -> None:
    """Like CloudFormation, succeeds when the stack exists but the change set does not (the
    CDK CLI deletes `cdk-deploy-change-set` before every deploy)."""
    try:
        change_set = _find_change_set(self, change_set_name, stack_name)
    except ChangeSetNotFound:
        if stack_name is None or change_set_name.startswith("arn:"):
            raise
        self.get_stack(stack_name)  # a missing stack is still an error
        return
    del self.change_sets[change_set.change_set_id]


def create_change_set(self: CloudFormationBackend, **kwargs: Any) -> tuple[str, str]:
    """A CREATE change set for a stack left in REVIEW_IN_PROGRESS reuses that stack."""
    if kwargs.get("change_set_type") == "CREATE":
        for stack_id, stack in list(self.stacks.items()):
            if stack.name == kwargs["stack_name"] and stack.status == "REVIEW_IN_PROGRESS":
                del self.stacks[stack_id]
    return _stock_create_change_set(self, **kwargs)


def execute_change_set(
    self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None
) -> None:
    change_set = _find_change_set(self, change_set_name, stack_name)
    if change_set.execution_status != "AVAILABLE":
        raise ValidationError(
            change_set.stack_name,
            message=f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current "
            f"execution status of [{change_set.execution_status}]",
        )
    stack = self.stacks[change_set.stack_id]
    if stack.status.endswith("_IN_PROGRESS") and stack.status != "REVIEW_IN_PROGRESS":
        raise ValidationError(
            stack.name,
            message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.",
        )
    change_set.execution_status = "EXECUTE_IN_PROGRESS"
    # Executing one change set deletes every change set of the stack.
    for change_set_id, other in list(self.change_sets.items()):
        if other.stack_id == stack.stack_id:
            del self.change_sets[change_set_id]
    if change_set.change_set_type == "CREATE":
        _execute_create(self, stack, change_set)
        change_set.execution_status = "EXECUTE_COMPLETE"
        return
    stack._add_stack_event("UPDATE_IN_PROGRESS", resource_status_reason="User Initiated")
    stack.status = "UPDATE_IN_PROGRESS"

    def update() -> None:
        _execute_update(self, stack, change_set)
        change_set.execution_status = "EXECUTE_COMPLETE"

    operations.run(stack.name, update)


def _execute_create(backend: CloudFormationBackend, stack: Stack, change_set: ChangeSet) -> None:
    stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
    stack.template = change_set.template
    stack._parse_template()
    stack.description = stack.template_dict.get("Description")
    stack.parameters = change_set.parameters
    stack.cross_stack_resources = backend.exports
    try:
        stack.resource_map = stack._create_resource_map()
        stack.status = "CREATE_IN_PROGRESS"
        stack.resource_map.create(stack.template_dict)
        stack.output_map = stack._create_output_map()
        backend._validate_export_uniqueness(stack)
    except Exception as error:
        _fail(stack, "CREATE", error)
        try:
            stack.resource_map.delete()
        except Exception:  # what could not be created cannot always be deleted either
            stack.status = "ROLLBACK_FAILED"
            stack._add_stack_event("ROLLBACK_FAILED")
            return
        stack.status = "ROLLBACK_COMPLETE"
        stack._add_stack_event("ROLLBACK_COMPLETE")
        return
    for export in stack.exports:
        backend.exports[export.name] = export
    stack.mark_creation_complete()


def _execute_update(backend: CloudFormationBackend, stack: Stack, change_set: ChangeSet) -> None:
    """The update on its stack operation's thread; the stack is already UPDATE_IN_PROGRESS."""
    previous_template = stack.template
    previous_parameters = dict(stack.parameters)
    try:
        stack.template = change_set.template
        stack._parse_template()
        stack.resource_map.update(stack.template_dict, change_set.parameters)
    except Exception as error:
        _fail(stack, "UPDATE", error)
        try:
            replacements = restore_replaced(stack.resource_map)
            stack.template = previous_template
            stack._parse_template()
            stack.resource_map.update(stack.template_dict, previous_parameters)
            _settle(stack, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
            remove_all(stack.resource_map, replacements)
        except Exception:
            logger.exception("rolling back %s failed", stack.name)
            _settle(stack, "UPDATE_ROLLBACK_FAILED")
            return
        stack.output_map = stack._create_output_map()
        _settle(stack, "UPDATE_ROLLBACK_COMPLETE")
        return
    if change_set.parameters:
        stack.parameters = change_set.parameters
    stack.description = stack.template_dict.get("Description")
    stack.output_map = stack._create_output_map()
    _settle(stack, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    try:
        remove_replaced(stack.resource_map)
    except Exception:  # CloudFormation reports a failed cleanup but the update stands
        logger.exception("cleaning up after updating %s failed", stack.name)
    _settle(stack, "UPDATE_COMPLETE")


def _settle(stack: Stack, status: str) -> None:
    stack.status = status
    stack._add_stack_event(status)


def _fail(stack: Stack, action: str, error: Exception) -> None:
    """Record what failed the way CloudFormation does: a resource event, then the stack's."""
    logger.warning("%s of %s failed", action, stack.name, exc_info=error)
    failure = error if isinstance(error, ResourceFailed) else None
    if failure is None:
        reason = failure_reason(error)
        stack._add_stack_event(f"{action}_FAILED", resource_status_reason=reason)
    else:
        event = cfn_models.Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=failure.logical_id,
            physical_resource_id="",
            resource_type=failure.resource_type,
            resource_status=f"{failure.action}_FAILED",
            resource_status_reason=failure.reason,
            resource_properties=None,
        )
        stack.events.append(event)
        reason = (
            f"The following resource(s) failed to {action.lower()}: [{failure.logical_id}]. "
            f"{failure.logical_id}: {failure.reason}"
        )
    rollback = "ROLLBACK_IN_PROGRESS" if action == "CREATE" else "UPDATE_ROLLBACK_IN_PROGRESS"
    stack.status = rollback
    stack._add_stack_event(rollback, resource_status_reason=reason)


def _stack_parameters(self: Stack) -> dict[str, Any]:
    """Parameters as given, not as resolved: `UsePreviousValue` of an SSM-typed parameter
    (the CDK's BootstrapVersion) must reuse the parameter's name, which is then re-read."""
    defaults = {
        name: slot["Default"]
        for name, slot in (self.template_dict or {}).get("Parameters", {}).items()
        if "Default" in slot
    }
    return {**self.resource_map.resolved_parameters, **defaults, **self.parameters}


# --------------------------------------------------------------------------------------------
# Responses: pass the stack name along so change sets are found per stack.


def _describe_change_set(self: Any) -> ActionResult:
    change_set = self.cloudformation_backend.describe_change_set(
        change_set_name=self._get_param("ChangeSetName"),
        stack_name=self._get_param("StackName"),
    )
    return ActionResult(change_set)


def _delete_change_set(self: Any) -> ActionResult:
    self.cloudformation_backend.delete_change_set(
        change_set_name=self._get_param("ChangeSetName"),
        stack_name=self._get_param("StackName"),
    )
    return EmptyResult()


def _update_termination_protection(self: Any) -> ActionResult:
    """UpdateTerminationProtection, which moto 5.2.5 lacks: the CDK CLI calls it after deploying
    a stack with `terminationProtection` (the Prod stacks); DescribeStacks then shows it."""
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    stack.enable_termination_protection = (
        str(self._get_param("EnableTerminationProtection")).lower() == "true"
    )
    return ActionResult({"StackId": stack.stack_id})


def patches() -> list[tuple[object, str, object]]:
    """(owner, attribute, replacement) for everything this module changes in moto."""
    return [
        (
            cfn_responses.CloudFormationResponse,
            "update_termination_protection",
            Addition(_update_termination_protection),
        ),
        (Stack, "stack_parameters", property(_stack_parameters)),
        (CloudFormationBackend, "describe_change_set", describe_change_set),
        (CloudFormationBackend, "delete_change_set", delete_change_set),
        (CloudFormationBackend, "create_change_set", create_change_set),
        (CloudFormationBackend, "execute_change_set", execute_change_set),
        (cfn_responses.CloudFormationResponse, "describe_change_set", _describe_change_set),
        (cfn_responses.CloudFormationResponse, "delete_change_set", _delete_change_set),
    ]
