"""AWS::KMS::Key with the template's tags, and key property changes applied in place."""

from __future__ import annotations

import json
from typing import Any

from moto.kms import models as kms

from ops.emulator.extensions.resources.base import flag


class TaggedKey(kms.Key):
    """moto's own key model, with template `Tags` ({Key, Value}, as CloudFormation writes them)
    passed to KMS as {TagKey, TagValue}; moto's model fails on them with KeyError 'TagKey'."""

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> kms.Key:
        props = dict(cloudformation_json["Properties"])
        props["Tags"] = [
            {"TagKey": tag["Key"], "TagValue": tag["Value"]} for tag in props.get("Tags", [])
        ]
        return super().create_from_cloudformation_json(
            resource_name, {**cloudformation_json, "Properties": props}, account_id, region_name
        )

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: kms.Key,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> kms.Key:
        """Key policy, description, rotation and enabled state change in place, as in KMS."""
        props = cloudformation_json["Properties"]
        policy = props["KeyPolicy"]
        original_resource.policy = policy if isinstance(policy, str) else json.dumps(policy)
        original_resource.description = props.get("Description", "")
        original_resource.key_rotation_status = flag(props.get("EnableKeyRotation"), default=False)
        original_resource.enabled = flag(props.get("Enabled"), default=True)
        return original_resource
