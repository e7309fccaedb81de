"""The on-call's pager for a drill: a loopback HTTP endpoint subscribed to the paging topic.

SNS delivers to an HTTP subscriber as it does in AWS ("Parse HTTP/S notification JSON format",
https://docs.aws.amazon.com/sns/latest/dg/http-notification-json.html): first a
`SubscriptionConfirmation` whose token the pager confirms (ConfirmSubscription), then each
alarm notification as a `Notification` whose `Message` is CloudWatch's alarm JSON. The pager
listens on 127.0.0.1 only and keeps every page it received, with the time it arrived.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CONFIRM_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Page:
    """One alarm notification as the on-call received it."""

    at: float  # time.time()
    subject: str
    alarm: str
    old_state: str
    new_state: str
    reason: str


def _page(body: dict[str, Any], at: float) -> Page:
    try:
        message = json.loads(body.get("Message", ""))
    except ValueError:
        message = {}
    if not isinstance(message, dict):
        message = {}
    return Page(
        at=at,
        subject=str(body.get("Subject") or ""),
        alarm=str(message.get("AlarmName", "")),
        old_state=str(message.get("OldStateValue", "")),
        new_state=str(message.get("NewStateValue", "")),
        reason=str(message.get("NewStateReason", "")),
    )


class Pager:
    """An HTTP server on 127.0.0.1 that takes SNS's POSTs; `subscribe` it to a topic."""

    def __init__(self) -> None:
        self.pages: list[Page] = []
        self.confirmations: list[dict[str, Any]] = []
        self._received = threading.Condition()
        pager = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                self.send_response(200)
                self.end_headers()
                try:
                    body = json.loads(raw)
                except ValueError:
                    return
                if isinstance(body, dict):
                    pager._take(self.headers.get("x-amz-sns-message-type", ""), body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/page"

    def _take(self, kind: str, body: dict[str, Any]) -> None:
        with self._received:
            if kind == "SubscriptionConfirmation":
                self.confirmations.append(body)
            elif kind == "Notification":
                self.pages.append(_page(body, time.time()))
            self._received.notify_all()

    def start(self) -> Pager:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def subscribe(self, sns: Any, topic_arn: str) -> str:
        """Subscribe to the topic and confirm with the token SNS sends; the subscription ARN."""
        sns.subscribe(TopicArn=topic_arn, Protocol="http", Endpoint=self.url)
        deadline = time.monotonic() + CONFIRM_TIMEOUT_S
        with self._received:
            while not self.confirmations and time.monotonic() < deadline:
                self._received.wait(0.2)
            if not self.confirmations:
                raise TimeoutError(f"no SubscriptionConfirmation from {topic_arn}")
            token = str(self.confirmations[-1]["Token"])
        confirmed = sns.confirm_subscription(TopicArn=topic_arn, Token=token)
        return str(confirmed["SubscriptionArn"])
