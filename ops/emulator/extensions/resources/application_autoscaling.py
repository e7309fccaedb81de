"""AWS::ApplicationAutoScaling::ScalableTarget and ::ScalingPolicy, which moto 5.2.5's
CloudFormation engine marks complete without creating: the endpoint's autoscaling then exists
for DescribeScalableTargets and DescribeScalingPolicies to show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from moto.applicationautoscaling.models import applicationautoscaling_backends

from ops.emulator.extensions.resources.base import ProjectResource, Props


@dataclass(eq=False)
class CfnScalableTarget(ProjectResource):
    """A scalable target; `Ref` gives `<resource id>|<dimension>|<namespace>`, as AWS does."""

    resource_type = "AWS::ApplicationAutoScaling::ScalableTarget"
    name_property = ""
    physical_id = "target_id"

    namespace: str
    resource_id: str
    dimension: str

    @property
    def target_id(self) -> str:
        return f"{self.resource_id}|{self.dimension}|{self.namespace}"

    @classmethod
    def create(cls, *, name: str, props: Props, account_id: str, region_name: str) -> Self:
        target = applicationautoscaling_backends[account_id][region_name].register_scalable_target(
            namespace=props["ServiceNamespace"],
            r_id=props["ResourceId"],
            dimension=props["ScalableDimension"],
            min_capacity=int(props["MinCapacity"]),
            max_capacity=int(props["MaxCapacity"]),
            role_arn=props.get("RoleARN", ""),
            suspended_state=props.get("SuspendedState"),
        )
        return cls(target.service_namespace, target.resource_id, target.scalable_dimension)

    def update(self, *, name: str, props: Props, account_id: str, region_name: str) -> Self:
        """Capacity changes in place (registering again updates it, and its policies stay);
        another resource id or dimension is another target, which replaces this one."""
        if (props["ResourceId"], props["ScalableDimension"]) != (self.resource_id, self.dimension):
            self.delete(account_id, region_name)
        return self.create(name=name, props=props, account_id=account_id, region_name=region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        """Deregistering a target deletes its scaling policies too, as in AWS."""
        backend = applicationautoscaling_backends[account_id][region_name]
        for key, policy in list(backend.policies.items()):
            if (policy.resource_id, policy.scalable_dimension) == (
                self.resource_id,
                self.dimension,
            ):
                backend.delete_scaling_policy(
                    policy.policy_name, self.namespace, self.resource_id, self.dimension
                )
                backend.policies.pop(key, None)
        backend.deregister_scalable_target(self.namespace, self.resource_id, self.dimension)


@dataclass(eq=False)
class CfnScalingPolicy(ProjectResource):
    """A scaling policy on a target given by `ScalingTargetId` (a target's `Ref`) or by its
    namespace, resource id and dimension."""

    resource_type = "AWS::ApplicationAutoScaling::ScalingPolicy"
    name_property = "PolicyName"
    physical_id = "arn"
    attributes: ClassVar = {"Arn": "arn"}

    arn: str
    name: str
    namespace: str
    resource_id: str
    dimension: str

    @classmethod
    def create(cls, *, name: str, props: Props, account_id: str, region_name: str) -> Self:
        if props.get("ScalingTargetId"):
            resource_id, dimension, namespace = str(props["ScalingTargetId"]).split("|")
        else:
            namespace = props["ServiceNamespace"]
            resource_id = props["ResourceId"]
            dimension = props["ScalableDimension"]
        body = props.get("TargetTrackingScalingPolicyConfiguration") or props.get(
            "StepScalingPolicyConfiguration"
        )
        policy = applicationautoscaling_backends[account_id][region_name].put_scaling_policy(
            policy_name=name,
            service_namespace=namespace,
            resource_id=resource_id,
            scalable_dimension=dimension,
            policy_body=body,
            policy_type=props["PolicyType"],
        )
        return cls(policy.policy_arn, name, namespace, resource_id, dimension)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = applicationautoscaling_backends[account_id][region_name]
        try:
            backend.delete_scaling_policy(
                self.name, self.namespace, self.resource_id, self.dimension
            )
        except Exception:  # already gone with its scalable target
            return
