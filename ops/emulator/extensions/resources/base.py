"""`ProjectResource`: moto's CloudFormation model interface answered once, from declarations.

moto's engine drives every resource type through `CloudFormationModel`: the type's name, the
property that names it, create / update / delete from the template's JSON, `Fn::GetAtt`, and
the physical id that `Ref` returns. A subclass declares only what differs between types:

    @dataclass(eq=False)
    class CfnThing(ProjectResource):
        resource_type = "AWS::Service::Thing"
        name_property = "ThingName"  # "" when the type has no name property
        physical_id = "arn"  # the field `Ref` returns
        attributes: ClassVar = {"Arn": "arn"}  # `Fn::GetAtt` name -> field

        name: str
        arn: str

        @classmethod
        def create(cls, *, name, props, account_id, region_name) -> Self: ...
        def delete(self, account_id, region_name) -> None: ...

and `update` only where the type changes in place; otherwise an update replaces the resource
(delete the old, create the new), as CloudFormation does for a replacement.

Subclasses are dataclasses with `eq=False`, so moto compares and tracks them by identity.
`ProjectResource` itself declares the type `""`: it is the only direct subclass of
`CloudFormationModel` here, the one moto's own model list (`__subclasses__()`) finds, and no
template names that type. The real types are registered only through `resources.MODELS` when
the extensions are installed, so importing these modules changes nothing in moto.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel

Props = Any
"""A resource's `Properties`: template JSON (Ref, GetAtt and Sub resolved by moto), read as
the service API reads its request, with no schema of its own here."""


def flag(value: Any, *, default: bool) -> bool:
    """A template boolean: CloudFormation accepts true/false and "true"/"false"."""
    if value is None:
        return default
    return str(value).lower() == "true"


class ProjectResource(CloudFormationModel):
    """A CloudFormation resource type the emulator creates through a moto service backend."""

    resource_type: ClassVar[str] = ""
    """The CloudFormation type, e.g. `AWS::CloudWatch::Alarm`."""

    name_property: ClassVar[str] = ""
    """The property that names the resource; "" when the type has none. When the template
    leaves it out, moto generates a name (`<stack>-<logical id>-<suffix>`)."""

    physical_id: ClassVar[str] = "name"
    """The field holding the physical id: what `Ref` returns and the stack resource shows."""

    attributes: ClassVar[Mapping[str, str]] = {}
    """`Fn::GetAtt` attribute name -> the field holding its value."""

    # What the subclass states ---------------------------------------------------------------

    @classmethod
    def create(cls, *, name: str, props: Props, account_id: str, region_name: str) -> Self:
        """Create the resource in its service backend; `name` is the physical name moto chose
        (the name property's value, or a generated one)."""
        raise NotImplementedError(f"{cls.__name__} does not say how to create {cls.resource_type}")

    def delete(self, account_id: str, region_name: str) -> None:
        """Delete the resource from its service backend. moto calls this on stack deletion and
        when an update removes the resource, with positional arguments."""
        raise NotImplementedError(f"{type(self).__name__} does not say how to delete itself")

    def update(self, *, name: str, props: Props, account_id: str, region_name: str) -> Self:
        """Apply changed properties. By default a replacement: the old resource is deleted and
        a new one created. Override where the AWS type updates in place."""
        self.delete(account_id, region_name)
        return self.create(name=name, props=props, account_id=account_id, region_name=region_name)

    # moto's interface, answered from the declarations above ----------------------------------

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.resource_type

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.name_property

    @property
    def physical_resource_id(self) -> str:
        return str(getattr(self, self.physical_id))

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.attributes

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name not in self.attributes:
            raise UnformattedGetAttTemplateException()
        return getattr(self, self.attributes[attribute_name])

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Self:
        return cls.create(
            name=resource_name,
            props=cloudformation_json["Properties"],
            account_id=account_id,
            region_name=region_name,
        )

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Self,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Self:
        return original_resource.update(
            name=new_resource_name,
            props=cloudformation_json["Properties"],
            account_id=account_id,
            region_name=region_name,
        )

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        """moto's fallback when `delete` raised TypeError or AttributeError. These models are
        deleted through their instance only, so the failure is reported, not passed over."""
        raise RuntimeError(f"could not delete {cls.resource_type} {resource_name}")
