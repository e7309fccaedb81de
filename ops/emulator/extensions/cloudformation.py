"""CloudFormation engine fixes for resources: failures, missing models, dependent updates.

moto 5.2.5's engine lets a resource error escape as an HTTP 500 instead of failing the stack;
marks a type it has no model for complete with nothing behind it; honours the name property of
the first model it finds for a type, not the registered one; on update touches only the
resources whose template text changed, so an Endpoint whose `EndpointConfigName` comes from a
replaced config never moves; retries a failed update up to five times; and deletes a replaced
resource before creating its successor. `patches()` also registers the project's resource models
(`resources.MODELS`) in moto's type map.

Updates follow "Update behaviors of stack resources" and "Monitor stack progress" in the
CloudFormation User Guide
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-monitor-stack.html):
an update whose resolved properties are unchanged changes nothing; a replacement is created
first and the old resource deleted in the cleanup after the whole stack update succeeded
(`UPDATE_COMPLETE_CLEANUP_IN_PROGRESS`), while a rolled-back update keeps the old resource and
deletes the new one. Types that declare `replaced_after_update` get this order (SageMaker's
Model and EndpointConfig: an endpoint keeps using the old config until its update is done).
CloudFormation updates independent resources in parallel; the emulator updates one at a time,
so an Endpoint (whose update may bake for minutes) goes after the resources that do not depend
on it, such as the alarms that watch its new fleet.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any, Protocol

from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing

# Reporting-only resources that have no effect to emulate.
IGNORED_TYPES = frozenset({"AWS::CDK::Metadata"})

# Passes over the stack when propagating a replaced resource to the resources that read it.
MAX_PROPAGATION_PASSES = 10

# Updated after everything that does not depend on them (see the module docstring).
SLOW_TYPES = frozenset({"AWS::SageMaker::Endpoint"})


class ReplacedAfterUpdate(Protocol):
    """A resource model whose replacement is created before the old resource is removed (see
    the module docstring). moto's models create instances of moto's own classes, so the rule
    and the removal belong to the registered model class, not to the instance."""

    replaced_after_update: bool

    @classmethod
    def remove(cls, resource: Any, account_id: str, region_name: str) -> None:
        """Delete the resource from its service; nothing if it is already gone."""
        ...


# A replaced resource kept until the update ends: (old resource, its resolved properties,
# the model that removes it).
Kept = tuple[Any, Any, type[ReplacedAfterUpdate]]


class ResourceFailed(Exception):
    """A resource's create/update failed; carries what CloudFormation reports for it."""

    def __init__(self, logical_id: str, resource_type: str, action: str, reason: str) -> None:
        super().__init__(reason)
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.action = action
        self.reason = reason


def failure_reason(error: BaseException) -> str:
    """What CloudFormation shows for a failed resource: the message and the service's code."""
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    code = getattr(error, "error_type", None) or getattr(error, "code", None)
    return f"{message} (Service: {code})" if isinstance(code, str) and code else str(message)


@contextlib.contextmanager
def _failing_as(logical_id: str, resource_type: str, action: str) -> Iterator[None]:
    """Any error in the block becomes the named resource's failure, as CloudFormation reports it."""
    try:
        yield
    except ResourceFailed:
        raise
    except Exception as error:
        raise ResourceFailed(logical_id, resource_type, action, failure_reason(error)) from error


def _resolved_properties(resource_json: dict[str, Any], resources_map: Any) -> Any:
    return parsing.clean_json(copy.deepcopy(resource_json.get("Properties", {})), resources_map)


# moto's own functions, kept before `patches()` replaces them in moto's parsing module.
_stock_create = parsing.parse_and_create_resource
_stock_update = parsing.parse_and_update_resource


def parse_and_create_resource(
    logical_id: str,
    resource_json: dict[str, Any],
    resources_map: Any,
    account_id: str,
    region_name: str,
) -> Any:
    """Create one resource; remember its resolved properties; name it in any failure.

    A type the emulator has no model for fails the deploy instead of being marked complete
    with nothing behind it (moto's default), so a gap shows as a gap.
    """
    resource_type = resource_json["Type"]
    condition = resource_json.get("Condition")
    if condition and not resources_map.lazy_condition_map[condition]:
        return None
    if (
        resource_type not in parsing.get_model_map()
        and resource_type not in parsing.NULL_MODELS
        and resource_type not in IGNORED_TYPES
        and not resource_type.startswith("Custom::")
    ):
        raise ResourceFailed(
            logical_id,
            resource_type,
            "CREATE",
            f"the local emulator has no model for {resource_type}; add one to "
            "ops/emulator/extensions/resources/",
        )
    with _failing_as(logical_id, resource_type, "CREATE"):
        resource = _stock_create(logical_id, resource_json, resources_map, account_id, region_name)
        if resource is not None:
            _remember(resources_map, logical_id, resource_json)
    return resource


def parse_and_update_resource(
    logical_id: str,
    resource_json: dict[str, Any],
    resources_map: Any,
    account_id: str,
    region_name: str,
) -> Any:
    """Update one resource; remember its resolved properties; name it in any failure.

    A resource that failed in this stack update fails again at once: moto retries a failed
    update up to five times, CloudFormation does not (and an endpoint update would redeploy).
    """
    failures: dict[str, ResourceFailed] = resources_map.__dict__.setdefault("emulator_failed", {})
    if logical_id in failures:
        raise failures[logical_id]
    try:
        with _failing_as(logical_id, resource_json["Type"], "UPDATE"):
            return _update(logical_id, resource_json, resources_map, account_id, region_name)
    except ResourceFailed as failure:
        failures[logical_id] = failure
        raise


def _update(
    logical_id: str,
    resource_json: dict[str, Any],
    resources_map: Any,
    account_id: str,
    region_name: str,
) -> Any:
    store = _store(resources_map)
    existing = resources_map._parsed_resources.get(logical_id)
    if existing is not None and logical_id in store:
        with contextlib.suppress(Exception):  # unresolvable now: update and compare next time
            if _resolved_properties(resource_json, resources_map) == store[logical_id]:
                return existing
    resource = _stock_update(logical_id, resource_json, resources_map, account_id, region_name)
    if resource is None:
        # No update support for this type: keep the resource CloudFormation already has.
        resource = existing
    elif existing is not None:
        model = parsing.resource_class_from_type(resource_json["Type"])
        if _replaced_later(model, existing, resource):
            _keep(resources_map, logical_id, (existing, store.get(logical_id), model))
    _remember(resources_map, logical_id, resource_json)
    return resource


def _store(resources_map: Any) -> dict[str, Any]:
    store: dict[str, Any] = resources_map.__dict__.setdefault("emulator_resolved", {})
    return store


def _remember(resources_map: Any, logical_id: str, resource_json: dict[str, Any]) -> None:
    store = _store(resources_map)
    try:
        store[logical_id] = _resolved_properties(resource_json, resources_map)
    except Exception:  # a property that cannot be resolved yet is compared next time
        store.pop(logical_id, None)


# --------------------------------------------------------------------------------------------
# Replacements kept until the stack update ends: removed on success, restored on rollback.


def _replaced_later(model: Any, existing: Any, resource: Any) -> bool:
    return bool(getattr(model, "replaced_after_update", False)) and (
        resource.physical_resource_id != existing.physical_resource_id
    )


def _kept(resources_map: Any) -> dict[str, Kept]:
    found: dict[str, Kept] = resources_map.__dict__.setdefault("emulator_replaced", {})
    return found


def _keep(resources_map: Any, logical_id: str, kept: Kept) -> None:
    found = _kept(resources_map)
    if logical_id in found:  # replaced twice in one update: the one in between goes now
        old, _, model = kept
        model.remove(old, resources_map._account_id, resources_map._region_name)
        return
    found[logical_id] = kept


def remove_replaced(resources_map: Any) -> None:
    """The cleanup after a successful stack update: delete the resources that were replaced."""
    found = _kept(resources_map)
    for old, _, model in found.values():
        model.remove(old, resources_map._account_id, resources_map._region_name)
    found.clear()


def restore_replaced(resources_map: Any) -> list[tuple[Any, type[ReplacedAfterUpdate]]]:
    """Before rolling back a stack update: take the replaced resources back; return their
    replacements, for the rollback's cleanup to delete (`remove_all`)."""
    found = _kept(resources_map)
    store = _store(resources_map)
    replacements = []
    for logical_id, (old, old_properties, model) in found.items():
        new = resources_map._parsed_resources.get(logical_id)
        if new is not None and new is not old:
            replacements.append((new, model))
        resources_map._parsed_resources[logical_id] = old
        if old_properties is None:
            store.pop(logical_id, None)
        else:
            store[logical_id] = old_properties
    found.clear()
    return replacements


def remove_all(resources_map: Any, resources: list[tuple[Any, type[ReplacedAfterUpdate]]]) -> None:
    for resource, model in resources:
        model.remove(resource, resources_map._account_id, resources_map._region_name)


class ResourceMap(parsing.ResourceMap):
    """moto's ResourceMap, plus CloudFormation's rule that a resource is updated when a value
    it reads (a Ref, GetAtt or Sub of a replaced resource) changes, not only its own text."""

    def update(self, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
        self.__dict__["emulator_failed"] = {}
        diff = self.build_resource_diff(template, parameters)
        touched = set(diff["Add"]) | set(diff["Modify"])
        super().update(template, parameters)
        for _ in range(MAX_PROPAGATION_PASSES):
            if self._propagate(touched, slow=False):
                continue
            if not self._propagate(touched, slow=True):
                return

    def _propagate(self, touched: set[str], *, slow: bool) -> bool:
        """Update the (slow or other) resources whose resolved properties changed."""
        store = _store(self)
        changed = False
        for logical_id, resource_json in self._resource_json_map.items():
            if (resource_json.get("Type") in SLOW_TYPES) != slow:
                continue
            if logical_id in touched or logical_id not in store:
                continue
            if logical_id not in self._parsed_resources:
                continue
            if _resolved_properties(resource_json, self) == store[logical_id]:
                continue
            self._parsed_resources[logical_id] = parsing.parse_and_update_resource(
                logical_id, resource_json, self, self._account_id, self._region_name
            )
            changed = True
        return changed


def resource_name_property_from_type(resource_type: str) -> str | None:
    """The name property of the model registered for the type (moto's own returns the first
    subclass found, so a registered replacement never gets its name honoured)."""
    return parsing.get_name_type_map().get(resource_type)


def patches() -> list[tuple[object, str, object]]:
    """(owner, attribute, replacement) for everything this module changes in moto."""
    from ops.emulator.extensions.resources import MODELS

    stock_model_map = parsing.get_model_map
    stock_name_map = parsing.get_name_type_map

    def get_model_map() -> dict[str, Any]:
        return {**stock_model_map(), **{m.cloudformation_type(): m for m in MODELS}}

    def get_name_type_map() -> dict[str, str]:
        names = {m.cloudformation_type(): m.cloudformation_name_type() for m in MODELS}
        return {**stock_name_map(), **names}

    return [
        (parsing, "get_model_map", get_model_map),
        (parsing, "get_name_type_map", get_name_type_map),
        (parsing, "resource_name_property_from_type", resource_name_property_from_type),
        (parsing, "parse_and_create_resource", parse_and_create_resource),
        (parsing, "parse_and_update_resource", parse_and_update_resource),
        (cfn_models, "ResourceMap", ResourceMap),
    ]
