"""What a rule is, and the template it reads: resources by type, through `stacks.templates`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cdk_nag import NagRuleCompliance

from stacks.checks.acknowledge import PACK
from stacks.templates import properties, resources_of


@dataclass(frozen=True)
class Resource:
    """One resource of a synthesized template, with its resolved properties."""

    logical_id: str
    type: str
    props: dict[str, Any]


class TemplateIndex:
    """One synthesized template's resources, by type (each type read once)."""

    def __init__(self, template: Mapping[str, Any]) -> None:
        self._template = template
        self._by_type: dict[str, list[Resource]] = {}

    def of_type(self, kind: str) -> list[Resource]:
        """The resources of one CloudFormation type, in template order."""
        if kind not in self._by_type:
            self._by_type[kind] = [
                Resource(logical_id, kind, properties(body))
                for logical_id, body in resources_of(self._template, kind).items()
            ]
        return self._by_type[kind]


Check = Callable[[Resource, TemplateIndex], NagRuleCompliance]


@dataclass(frozen=True)
class Rule:
    """One rule: the resource types it looks at, what it checks, and what a finding says.

    Args:
        suffix: the rule id after `SageMaker-`; acknowledgements name the id.
        types: the CloudFormation types checked, in the order findings are listed.
        info: what is wrong, as the validation report says it.
        explanation: why it matters and how to fix it.
        check: the verdict on one resource, given the whole template.
    """

    suffix: str
    types: tuple[str, ...]
    info: str
    explanation: str
    check: Check

    @property
    def id(self) -> str:
        return f"{PACK}-{self.suffix}"
