"""Bounded traffic at an endpoint: the model's `example.json`, as InvokeEndpoint requests.

A few worker threads each send one request at a time, paced so that together they send about
`rate` requests a second (a number, or a function read before each request, so the drill can
go quiet while a new fleet starts), until `stop()` or until `limit` requests or `seconds` have
passed.

Few workers, as a synchronous client would use: at most that many requests are outstanding, so
when the machine is busy the rate falls instead of requests queueing at the model server. The
emulator's model server runs one worker per model on a shared machine; with 12 outstanding
requests, two drills at once (or a drill beside the test suite) queued them there long enough
that the good version's p99 ModelLatency crossed its 500 ms alarm and was rolled back, the
latency measuring the queue and not the model. With 4 the same pair of drills raised no
latency alarm, and a faulty version's latency (every request slowed) is caught as before.

Each outcome (when, HTTP status, how long) is kept for the timeline. SageMaker routes each
request to a fleet; the client cannot tell which, so the traffic share of the new fleet comes
from SageMaker's metrics, not from here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError


@dataclass(frozen=True)
class Outcome:
    at: float  # time.time() when the answer came
    status: int  # HTTP status of InvokeEndpoint; 0 when there was no answer
    seconds: float


def _status(error: ClientError) -> int:
    response = error.response
    original = response.get("OriginalStatusCode")
    if isinstance(original, int):
        return original
    return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


class Traffic:
    """Requests at `endpoint_name`; `start()`, then `stop()` (also stops by itself at its bounds).

    Args:
        client: makes a SageMaker Runtime client; called once per worker in `start()`, on the
            caller's thread (a boto3 session must not make clients on several threads at once).
        rate: requests a second, all workers together.
        limit / seconds: bounds on the number of requests and on the run time.
    """

    def __init__(
        self,
        *,
        client: Callable[[], Any],
        endpoint_name: str,
        body: bytes,
        rate: float | Callable[[], float] = 30.0,
        workers: int = 4,
        limit: int = 20_000,
        seconds: float = 600.0,
    ) -> None:
        self.endpoint_name = endpoint_name
        self.body = body
        self.outcomes: list[Outcome] = []
        self._client = client
        self._rate = rate if callable(rate) else (lambda: rate)
        self._workers = workers
        self._limit = limit
        self._seconds = seconds
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self) -> Traffic:
        deadline = time.monotonic() + self._seconds
        for index in range(self._workers):
            thread = threading.Thread(
                target=self._work,
                args=(self._client(), deadline, index),
                name=f"traffic-{index}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 70.0) -> None:
        """Stop sending; wait for requests in flight (they time out after 60 s)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)

    def _work(self, runtime: Any, deadline: float, index: int) -> None:
        # Spread the workers over one interval so requests do not arrive in bursts.
        if self._stop.wait(self._interval() * index / self._workers):
            return
        while time.monotonic() < deadline and not self._stop.is_set():
            with self._lock:
                if len(self.outcomes) >= self._limit:
                    return
            started = time.monotonic()
            status = self._invoke(runtime)
            took = time.monotonic() - started
            with self._lock:
                self.outcomes.append(Outcome(time.time(), status, took))
            self._stop.wait(max(0.0, self._interval() - took))

    def _interval(self) -> float:
        """Seconds between one worker's requests."""
        return self._workers / max(0.1, self._rate())

    def _invoke(self, runtime: Any) -> int:
        try:
            response = runtime.invoke_endpoint(
                EndpointName=self.endpoint_name,
                Body=self.body,
                ContentType="application/json",
                Accept="application/json",
            )
            response["Body"].read()
            return int(response["ResponseMetadata"]["HTTPStatusCode"])
        except ClientError as error:
            return _status(error)
        except BotoCoreError:
            return 0

    def answered_ok(self) -> int:
        with self._lock:
            return sum(1 for outcome in self.outcomes if outcome.status == 200)
