"""SNS delivery in the emulator: loopback HTTP gets SNS's JSON after confirming; nothing leaves."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ops.emulator import behaviours
from ops.emulator.delivery import is_loopback, read_outbox


class Subscriber:
    """An on-call endpoint on 127.0.0.1 that records what SNS posts to it."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []
        received = self.received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(({k.lower(): v for k, v in self.headers.items()}, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/page"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def aws(aws_credentials: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    monkeypatch.setenv("EMULATOR_OUTBOX", str(tmp_path / "outbox"))
    with behaviours.installed(), mock_aws():
        yield tmp_path / "outbox"


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    server = Subscriber()
    yield server
    server.stop()


def test_loopback_http_subscription_confirms_then_receives_notifications(
    aws: Path, subscriber: Subscriber
) -> None:
    sns = boto3.client("sns")
    topic = sns.create_topic(Name="paging")["TopicArn"]
    arn = sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=subscriber.url)["SubscriptionArn"]
    (headers, confirmation), *_ = subscriber.received
    assert headers["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    assert confirmation["Type"] == "SubscriptionConfirmation"
    assert confirmation["TopicArn"] == topic and "Token=" in confirmation["SubscribeURL"]
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attributes["PendingConfirmation"] == "true"

    sns.publish(TopicArn=topic, Message="before confirming", Subject="ignored")
    assert len(subscriber.received) == 1  # nothing goes to a pending subscription

    confirmed = sns.confirm_subscription(TopicArn=topic, Token=confirmation["Token"])
    assert confirmed["SubscriptionArn"] == arn
    sns.publish(TopicArn=topic, Message='{"AlarmName": "x"}', Subject='ALARM: "x"')
    headers, notification = subscriber.received[-1]
    assert headers["x-amz-sns-message-type"] == "Notification"
    assert headers["x-amz-sns-subscription-arn"] == arn
    assert headers["content-type"] == "text/plain; charset=UTF-8"
    assert notification["Type"] == "Notification"
    assert notification["Subject"] == 'ALARM: "x"'
    assert json.loads(notification["Message"]) == {"AlarmName": "x"}
    assert {"MessageId", "Timestamp", "Signature", "SigningCertURL", "UnsubscribeURL"} <= set(
        notification
    )
    assert read_outbox(aws) == []

    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.confirm_subscription(TopicArn=topic, Token="not-the-token")


def test_other_hosts_and_email_go_to_the_outbox(aws: Path) -> None:
    sns = boto3.client("sns")
    topic = sns.create_topic(Name="paging")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="https", Endpoint="https://events.example.com/x")
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="oncall@example.com")
    sns.publish(TopicArn=topic, Message="the model is failing", Subject="ALARM")
    messages = read_outbox(aws)
    by_protocol = {m["protocol"]: m for m in messages}
    assert set(by_protocol) == {"https", "email"}
    assert by_protocol["email"]["endpoint"] == "oncall@example.com"
    assert by_protocol["email"]["body"] == "the model is failing"
    remote = json.loads(by_protocol["https"]["body"])
    assert remote["Type"] == "Notification" and remote["Message"] == "the model is failing"
    assert by_protocol["https"]["delivered"] is False


def test_a_loopback_subscriber_that_is_gone_is_written_down(aws: Path) -> None:
    gone = Subscriber()
    url = gone.url
    gone.stop()
    sns = boto3.client("sns")
    topic = sns.create_topic(Name="paging")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=url)
    (failed,) = read_outbox(aws)
    assert failed["endpoint"] == url and failed["error"]


def test_loopback_means_this_machine_only() -> None:
    assert is_loopback("http://127.0.0.1:8080/x")
    assert is_loopback("https://localhost/x")
    assert is_loopback("http://[::1]:9/x")
    assert not is_loopback("https://events.pagerduty.com/integration/x/enqueue")
    assert not is_loopback("http://localhost.example.com/x")
    assert not is_loopback("http://10.0.0.1/x")
