"""SNS delivery that never leaves the machine: loopback HTTP(S) gets SNS's JSON, the rest an outbox.

moto 5.2.5 POSTs notifications to any HTTP(S) endpoint on the internet and marks every
subscription confirmed at once. Here:

- an `http`/`https` subscription whose host is loopback (`localhost`, `127.0.0.0/8`, `::1`) gets
  a `SubscriptionConfirmation` POST first and stays `PendingConfirmation` until ConfirmSubscription
  is called with its token (or its SubscribeURL is visited); then each notification arrives as SNS
  sends it: a JSON body (`Type`, `MessageId`, `TopicArn`, `Subject`, `Message`, `Timestamp`,
  `SignatureVersion`, `Signature`, `SigningCertURL`, `UnsubscribeURL`) with the
  `x-amz-sns-message-type`, `x-amz-sns-message-id`, `x-amz-sns-topic-arn` and
  `x-amz-sns-subscription-arn` headers, `Content-Type: text/plain; charset=UTF-8`;
- any other host, and `email` / `email-json`, are written to the outbox folder
  (`EMULATOR_OUTBOX`, default `.cache/emulator/outbox`), one JSON file per message: what would
  have been sent, to whom. Those subscriptions count as confirmed (the outbox stands in for the
  person or service that would confirm once).

Follows "Parse HTTP/S notification JSON format", "Subscription confirmation JSON format" and "HTTP/S
headers" in the SNS Developer Guide
(https://docs.aws.amazon.com/sns/latest/dg/http-notification-json.html,
https://docs.aws.amazon.com/sns/latest/dg/http-subscription-confirmation-json.html,
https://docs.aws.amazon.com/sns/latest/dg/http-header.html).
Left open there or not emulated, and chosen here: one delivery attempt with a 5-second timeout
(SNS retries by its delivery policy; a failed attempt is written to the outbox with the error);
HTTPS to loopback does not verify the certificate (SNS requires a CA-signed one); signatures are
moto's, made with a key of its own, not Amazon's; Subscribe returns the subscription's ARN even
while it is pending.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import ssl
import threading
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUTBOX_VARIABLE = "EMULATOR_OUTBOX"
DEFAULT_OUTBOX = ROOT / ".cache" / "emulator" / "outbox"
DELIVERY_TIMEOUT_S = 5.0
USER_AGENT = "Amazon Simple Notification Service Agent"

_tokens: dict[str, str] = {}  # subscription ARN -> confirmation token
_lock = threading.Lock()
_base_url = ""


def configure(*, base_url: str) -> None:
    """The emulator's own URL, for SubscribeURL and UnsubscribeURL in messages."""
    global _base_url
    _base_url = base_url.rstrip("/")


def outbox() -> Path:
    return Path(os.environ.get(OUTBOX_VARIABLE) or DEFAULT_OUTBOX)


def is_loopback(endpoint: str) -> bool:
    """True for http(s) URLs on this machine; names other than `localhost` are not resolved."""
    host = urllib.parse.urlsplit(endpoint).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def write_outbox(entry: dict[str, Any]) -> Path:
    folder = outbox()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.json"
    partial = folder / f".{name}.partial"
    partial.write_text(json.dumps(entry, indent=2, sort_keys=True))
    return partial.replace(folder / name)


def read_outbox(folder: Path | None = None) -> list[dict[str, Any]]:
    """Every message in the outbox, oldest first."""
    found = sorted((folder or outbox()).glob("*.json"))
    return [json.loads(path.read_text()) for path in found]


def _post(endpoint: str, body: str, headers: dict[str, str]) -> None:
    request = urllib.request.Request(  # noqa: S310 - loopback only, checked by the caller
        endpoint, data=body.encode(), method="POST", headers=headers
    )
    context = ssl._create_unverified_context() if endpoint.startswith("https:") else None  # noqa: S323
    with urllib.request.urlopen(request, timeout=DELIVERY_TIMEOUT_S, context=context) as response:  # noqa: S310
        response.read()


def deliver(
    *, protocol: str, endpoint: str, body: str, headers: dict[str, str], **note: Any
) -> None:
    """POST to a loopback endpoint; anything else goes to the outbox."""
    entry = {"protocol": protocol, "endpoint": endpoint, "headers": headers, "body": body, **note}
    if protocol in ("http", "https") and is_loopback(endpoint):
        try:
            _post(endpoint, body, headers)
        except OSError as error:
            write_outbox({**entry, "delivered": False, "error": str(error)})
        return
    write_outbox({**entry, "delivered": False, "reason": "not a loopback endpoint"})


def _headers(
    kind: str, message_id: str, topic_arn: str, subscription_arn: str | None
) -> dict[str, str]:
    headers = {
        "x-amz-sns-message-type": kind,
        "x-amz-sns-message-id": message_id,
        "x-amz-sns-topic-arn": topic_arn,
        "Content-Type": "text/plain; charset=UTF-8",
        "User-Agent": USER_AGENT,
    }
    if subscription_arn is not None:
        headers["x-amz-sns-subscription-arn"] = subscription_arn
    return headers


def _service_url(region: str) -> str:
    return _base_url or f"https://sns.{region}.amazonaws.com"


# --------------------------------------------------------------------------------------------
# moto: Subscription.publish, SNSBackend.subscribe, SNSResponse.confirm_subscription


def _stock(owner_name: str, name: str) -> Any:
    from moto.sns import models

    return vars(getattr(models, owner_name))[name]


_stock_publish = _stock("Subscription", "publish")
_stock_subscribe = _stock("SNSBackend", "subscribe")


def _publish(self: Any, message: str, message_id: str, *args: Any, **kwargs: Any) -> None:
    """Subscription.publish for HTTP(S) and e-mail; other protocols stay moto's."""
    if self.protocol not in ("http", "https", "email", "email-json"):
        _stock_publish(self, message, message_id, *args, **kwargs)
        return
    names = ("subject", "message_attributes", "group_id", "deduplication_id", "message_structure")
    given = {**dict(zip(names, args, strict=False)), **kwargs}
    subject = given.get("subject")
    message_attributes = given.get("message_attributes")
    message_structure = given.get("message_structure")
    matcher = self._filter_policy_matcher
    if matcher is not None and not matcher.matches(message_attributes, message):
        return
    if message_structure == "json":
        message = self._parse_message_structure(message, self.protocol)
    if self.attributes.get("PendingConfirmation") in (True, "true"):
        return  # SNS delivers nothing to a subscription that is not confirmed
    if self.protocol == "email":
        deliver(protocol="email", endpoint=self.endpoint, body=message, headers={}, subject=subject)
        return
    post = self.get_post_data(message, message_id, subject, message_attributes)
    region = self.topic.sns_backend.region_name
    post["UnsubscribeURL"] = (
        f"{_service_url(region)}/?Action=Unsubscribe&SubscriptionArn={self.arn}"
    )
    raw = str(self.attributes.get("RawMessageDelivery")).lower() == "true"
    body = message if raw else json.dumps(post)
    headers = _headers("Notification", message_id, self.topic.arn, self.arn)
    deliver(
        protocol=self.protocol, endpoint=self.endpoint, body=body, headers=headers, subject=subject
    )


def _subscribe(self: Any, topic_arn: str, endpoint: str, protocol: str) -> Any:
    existing = self._find_subscription(topic_arn, endpoint, protocol)
    subscription = _stock_subscribe(self, topic_arn, endpoint, protocol)
    if existing is not None or protocol not in ("http", "https") or not is_loopback(endpoint):
        return subscription
    token = secrets.token_hex(64)
    with _lock:
        _tokens[subscription.arn] = token
    subscription.attributes["PendingConfirmation"] = True
    subscription.attributes["ConfirmationWasAuthenticated"] = False
    query = urllib.parse.urlencode(
        {"Action": "ConfirmSubscription", "TopicArn": topic_arn, "Token": token}
    )
    message_id = str(uuid.uuid4())
    body = {
        "Type": "SubscriptionConfirmation",
        "MessageId": message_id,
        "Token": token,
        "TopicArn": topic_arn,
        "Message": f"You have chosen to subscribe to the topic {topic_arn}.\n"
        "To confirm the subscription, visit the SubscribeURL included in this message.",
        "SubscribeURL": f"{_service_url(self.region_name)}/?{query}",
        "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "SignatureVersion": "1",
        "Signature": "",
        "SigningCertURL": "",
    }
    headers = _headers("SubscriptionConfirmation", message_id, topic_arn, None)
    deliver(protocol=protocol, endpoint=endpoint, body=json.dumps(body), headers=headers)
    return subscription


def confirm(backend: Any, topic_arn: str, token: str) -> str:
    """Confirm the subscription the token was sent to; its ARN."""
    with _lock:
        arn = next((a for a, t in _tokens.items() if t == token), None)
    subscription = backend.subscriptions.get(arn) if arn else None
    if subscription is None or subscription.topic.arn != topic_arn:
        from moto.sns.exceptions import SNSInvalidParameter

        raise SNSInvalidParameter("Invalid parameter: Token")
    subscription.attributes["PendingConfirmation"] = False
    subscription.confirmed = True
    return str(subscription.arn)


def _confirm_subscription(self: Any) -> Any:
    from moto.core.responses import ActionResult

    arn = confirm(self.backend, self._get_param("TopicArn"), self._get_param("Token"))
    return ActionResult({"SubscriptionArn": arn})


def patches() -> list[tuple[object, str, object]]:
    from moto.sns.models import SNSBackend, Subscription
    from moto.sns.responses import SNSResponse

    return [
        (Subscription, "publish", _publish),
        (SNSBackend, "subscribe", _subscribe),
        (SNSResponse, "confirm_subscription", _confirm_subscription),
    ]
