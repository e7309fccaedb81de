"""The SNS topic that pages the on-call: encrypted, SSL-only, subscribed from the environment."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct


class PagingTopic(Construct):
    """One topic per environment stack; alarms send both ALARM and OK notifications here.

    Args:
        key: encrypts messages at rest; CloudWatch is allowed to use it to publish.
        emails: addresses subscribed by e-mail (each confirms once).
        https: HTTPS endpoints, for example a PagerDuty or Opsgenie integration URL.
        display_name: shown as the sender of e-mails and SMS.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        key: kms.IKey,
        emails: Sequence[str],
        https: Sequence[str],
        display_name: str,
    ) -> None:
        super().__init__(scope, id_)
        self.topic = sns.Topic(
            self, "Topic", master_key=key, enforce_ssl=True, display_name=display_name
        )
        # Alarms publish as the CloudWatch service, which must be able to use the topic's key.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublishToPagingTopic",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
            )
        )
        for address in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(address))
        for url in https:
            self.topic.add_subscription(
                subscriptions.UrlSubscription(url, protocol=sns.SubscriptionProtocol.HTTPS)
            )
