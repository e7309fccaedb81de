"""AWS::SNS::Subscription and AWS::SNS::TopicPolicy, which moto 5.2.5's CloudFormation engine
skips: the paging topic's subscribers and its publish policy then show in the SNS API."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Self

from moto.sns.models import sns_backends

from ops.emulator.extensions.resources.base import ProjectResource, Props

# Subscription attributes a template may set, as SetSubscriptionAttributes takes them.
SUBSCRIPTION_ATTRIBUTES = (
    "FilterPolicy",
    "RawMessageDelivery",
    "RedrivePolicy",
    "FilterPolicyScope",
)


@dataclass(eq=False)
class CfnSubscription(ProjectResource):
    """A subscription of an endpoint to a topic; `Ref` gives the subscription ARN."""

    resource_type = "AWS::SNS::Subscription"
    name_property = ""
    physical_id = "arn"

    arn: str

    @classmethod
    def create(cls, *, name: str, props: Props, account_id: str, region_name: str) -> Self:
        backend = sns_backends[account_id][region_name]
        subscription = backend.subscribe(props["TopicArn"], props["Endpoint"], props["Protocol"])
        for key in SUBSCRIPTION_ATTRIBUTES:
            if key in props:
                value = props[key]
                text = value if isinstance(value, str) else json.dumps(value)
                if key == "RawMessageDelivery":
                    text = str(value).lower()
                backend.set_subscription_attributes(subscription.arn, key, text)
        return cls(subscription.arn)

    def delete(self, account_id: str, region_name: str) -> None:
        sns_backends[account_id][region_name].unsubscribe(self.arn)


@dataclass(eq=False)
class CfnTopicPolicy(ProjectResource):
    """Sets the policy document on each listed topic."""

    resource_type = "AWS::SNS::TopicPolicy"
    name_property = ""
    physical_id = "name"

    topics: list[str]
    name: str

    @classmethod
    def create(cls, *, name: str, props: Props, account_id: str, region_name: str) -> Self:
        backend = sns_backends[account_id][region_name]
        document = json.dumps(props["PolicyDocument"])
        for topic_arn in props["Topics"]:
            backend.get_topic(topic_arn).policy = document
        return cls(list(props["Topics"]), name)

    def update(self, *, name: str, props: Props, account_id: str, region_name: str) -> Self:
        """In place: the document is set on the topics again; the physical id stays."""
        return self.create(
            name=self.name, props=props, account_id=account_id, region_name=region_name
        )

    def delete(self, account_id: str, region_name: str) -> None:
        """The topics keep the document: the emulator does not evaluate topic policies, so
        there is nothing to undo (AWS would restore the default policy)."""
        return
