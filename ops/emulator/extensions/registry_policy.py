"""A model package group's resource policy, which moto 5.2.5 neither stores nor serves.

The stacks attach one to each group (`ModelPackageGroupPolicy`) so the other environments'
accounts may deploy its versions, and `python -m ops promote` reads it back to say whether a
promotion will deploy there. The three API actions follow the SageMaker API Reference:

- PutModelPackageGroupPolicy (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_PutModelPackageGroupPolicy.html):
  `ModelPackageGroupName`, `ResourcePolicy` (a JSON string) -> `ModelPackageGroupArn`.
- GetModelPackageGroupPolicy (.../API_GetModelPackageGroupPolicy.html): -> `ResourcePolicy`.
- DeleteModelPackageGroupPolicy (.../API_DeleteModelPackageGroupPolicy.html): empty answer.

The pages leave open what Get answers for a group without a policy; the emulator answers a
ValidationException naming the group, as it does for an unknown group (moto's own error). The
policy is stored as given, not evaluated: moto resolves every call within the caller's account,
so it cannot show another account being let in or kept out.
"""

from __future__ import annotations

from typing import Any

from ops.emulator.patching import Addition, Patch

POLICY_ATTRIBUTE = "resource_policy"  # where the policy sits on moto's group object


def _group(response: Any) -> Any:
    name = response._get_param("ModelPackageGroupName")
    return response.sagemaker_backend.describe_model_package_group(model_package_group_name=name)


def _put(self: Any) -> Any:
    from moto.core.responses import ActionResult

    group = _group(self)
    setattr(group, POLICY_ATTRIBUTE, str(self._get_param("ResourcePolicy")))
    return ActionResult({"ModelPackageGroupArn": group.arn})


def _get(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.sagemaker.exceptions import ValidationError

    group = _group(self)
    policy = getattr(group, POLICY_ATTRIBUTE, None)
    if policy is None:
        raise ValidationError(f"ModelPackageGroup {group.arn} has no resource policy.")
    return ActionResult({"ResourcePolicy": policy})


def _delete(self: Any) -> Any:
    from moto.core.responses import EmptyResult

    group = _group(self)
    if hasattr(group, POLICY_ATTRIBUTE):
        delattr(group, POLICY_ATTRIBUTE)
    return EmptyResult()


def patches() -> list[Patch]:
    from moto.sagemaker.responses import SageMakerResponse

    return [
        (SageMakerResponse, "put_model_package_group_policy", Addition(_put)),
        (SageMakerResponse, "get_model_package_group_policy", Addition(_get)),
        (SageMakerResponse, "delete_model_package_group_policy", Addition(_delete)),
    ]
