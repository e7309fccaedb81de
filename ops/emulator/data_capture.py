"""SageMaker's data capture: sampled requests and responses written to the emulator's own S3.

Follows "Capture data from real-time endpoint", section "View Captured Data"
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html),
"DataCaptureConfig" and "CaptureContentTypeHeader" in the API reference
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DataCaptureConfig.html,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CaptureContentTypeHeader.html)
and `InferenceId` in "InvokeEndpoint"
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_InvokeEndpoint.html):

- the EndpointConfig that served the request decides: nothing is captured unless it has a
  `DataCaptureConfig` whose `EnableCapture` is not false ("defaults to enabled");
- `InitialSamplingPercentage` of the requests are captured; `CaptureOptions` say whether the
  record holds `endpointInput` (Input), `endpointOutput` (Output) or both;
- one JSON object per line: `captureData.endpointInput` / `endpointOutput`, each with
  `observedContentType` (the request's Content-Type, the response's), `mode` (INPUT, OUTPUT),
  `data` and `encoding`; `eventMetadata` with `eventId` and `inferenceTime`, plus
  `inferenceId` when the request carried one; `eventVersion` "0";
- `encoding` is CSV or JSON when the content type is listed in `CsvContentTypes` /
  `JsonContentTypes` (then `data` is the payload's text); otherwise BASE64 ("If no headers
  are specified SageMaker will by default base64 encode when capturing the data");
- objects at `<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl`, the hour of
  the inference in UTC, encrypted with `KmsKeyId` (SSE-KMS) when one is given.

What the pages leave open, and the choices made here:

- Which requests are sampled: a deterministic spread per endpoint and variant (request n is
  captured when the running count of captures due grows), so 10 % is exactly every tenth.
- Requests the model did not answer with 2xx are not captured (the pages only show answered
  requests).
- Content types match on the media type, case-insensitive, parameters ignored
  (`text/csv; charset=utf-8` is `text/csv`).
- The file name ("filename.jsonl" on the page): `<mm>-<ss>-<mmm>-<uuid>.jsonl` from the first
  record's time, so names sort by time within the hour. Records are buffered per destination
  and hour and written `FLUSH_SECONDS` after the first (SageMaker also writes files some time
  after the requests); `flush()` writes what is pending at once.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

EVENT_VERSION = "0"
FLUSH_SECONDS = 1.0


@dataclass(frozen=True)
class Settings:
    """An EndpointConfig's `DataCaptureConfig`, as the capture reads it.

    Args:
        bucket / prefix: `DestinationS3Uri` split; the prefix has no trailing slash.
        modes: "INPUT" and/or "OUTPUT" (from `CaptureOptions`).
        csv_types / json_types: `CaptureContentTypeHeader`'s media types, lower case.
    """

    bucket: str
    prefix: str
    sampling_percent: int
    modes: frozenset[str]
    csv_types: frozenset[str] = frozenset()
    json_types: frozenset[str] = frozenset()
    kms_key_id: str | None = None


def _enabled(value: object) -> bool:
    return not (value is False or str(value).lower() == "false")


def settings_of(config: Mapping[str, Any] | None) -> Settings | None:
    """The capture settings of a `DataCaptureConfig`; None when capture is off or absent."""
    if not config or not _enabled(config.get("EnableCapture", True)):
        return None
    destination = str(config.get("DestinationS3Uri") or "")
    scheme, _, rest = destination.partition("://")
    bucket, _, prefix = rest.partition("/")
    if scheme != "s3" or not bucket:
        return None  # an https:// destination is not emulated
    modes: set[str] = set()
    for option in config.get("CaptureOptions") or []:
        mode = str(option.get("CaptureMode", ""))
        if mode in ("Input", "InputAndOutput"):
            modes.add("INPUT")
        if mode in ("Output", "InputAndOutput"):
            modes.add("OUTPUT")
    header = config.get("CaptureContentTypeHeader") or {}
    return Settings(
        bucket=bucket,
        prefix=prefix.strip("/"),
        sampling_percent=int(config.get("InitialSamplingPercentage") or 0),
        modes=frozenset(modes),
        csv_types=frozenset(_media_type(t) for t in header.get("CsvContentTypes") or []),
        json_types=frozenset(_media_type(t) for t in header.get("JsonContentTypes") or []),
        kms_key_id=config.get("KmsKeyId") or None,
    )


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def encoded(body: bytes, content_type: str, mode: str, settings: Settings) -> dict[str, str]:
    """One side of the record (`endpointInput` or `endpointOutput`)."""
    media = _media_type(content_type)
    if media in settings.csv_types or media in settings.json_types:
        encoding = "CSV" if media in settings.csv_types else "JSON"
        data = body.decode("utf-8", errors="replace")
    else:
        encoding, data = "BASE64", base64.b64encode(body).decode("ascii")
    return {"observedContentType": content_type, "mode": mode, "data": data, "encoding": encoding}


@dataclass(frozen=True)
class Exchange:
    """One answered InvokeEndpoint request, as data capture sees it."""

    endpoint: str
    variant: str
    request: bytes
    request_type: str
    response: bytes
    response_type: str
    at: datetime
    inference_id: str | None = None


def record(exchange: Exchange, settings: Settings, *, event_id: str) -> dict[str, Any]:
    """The JSON Lines record SageMaker writes for the request."""
    capture: dict[str, Any] = {}
    if "INPUT" in settings.modes:
        capture["endpointInput"] = encoded(
            exchange.request, exchange.request_type, "INPUT", settings
        )
    if "OUTPUT" in settings.modes:
        capture["endpointOutput"] = encoded(
            exchange.response, exchange.response_type, "OUTPUT", settings
        )
    metadata = {
        "eventId": event_id,
        "inferenceTime": exchange.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if exchange.inference_id:
        metadata["inferenceId"] = exchange.inference_id
    return {"captureData": capture, "eventMetadata": metadata, "eventVersion": EVENT_VERSION}


def hour_prefix(settings: Settings, endpoint: str, variant: str, at: datetime) -> str:
    """`<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh` (the inference's hour, UTC)."""
    hour = at.astimezone(UTC).strftime("%Y/%m/%d/%H")
    return "/".join(part for part in (settings.prefix, endpoint, variant, hour) if part)


def file_name(at: datetime) -> str:
    moment = at.astimezone(UTC)
    return f"{moment:%M-%S}-{moment.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"


class Sampler:
    """`InitialSamplingPercentage` of the requests, spread evenly, per endpoint and variant."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def take(self, endpoint: str, variant: str, percent: int) -> bool:
        with self._lock:
            n = self._seen.get((endpoint, variant), 0) + 1
            self._seen[(endpoint, variant)] = n
        return (n * percent) // 100 > ((n - 1) * percent) // 100


@dataclass
class _File:
    settings: Settings
    key: str
    lines: list[str] = field(default_factory=list)


class Writer:
    """Buffers records per destination hour and puts each buffer into S3 as one object."""

    def __init__(self, account_id: str, region: str, *, flush_seconds: float = FLUSH_SECONDS):
        self.account_id = account_id
        self.region = region
        self.flush_seconds = flush_seconds
        self._files: dict[str, _File] = {}
        self._lock = threading.Lock()

    def add(self, line: str, settings: Settings, folder: str, at: datetime) -> None:
        with self._lock:
            pending = self._files.get(folder)
            if pending is None:
                pending = self._files[folder] = _File(settings, f"{folder}/{file_name(at)}")
                timer = threading.Timer(self.flush_seconds, self._write, args=(folder,))
                timer.daemon = True
                timer.start()
            pending.lines.append(line)

    def flush(self) -> None:
        with self._lock:
            folders = list(self._files)
        for folder in folders:
            self._write(folder)

    def _write(self, folder: str) -> None:
        from moto.s3.models import s3_backends
        from moto.utilities.utils import get_partition

        with self._lock:
            pending = self._files.pop(folder, None)
        if pending is None or not pending.lines:
            return
        kms = pending.settings.kms_key_id
        try:
            s3_backends[self.account_id][get_partition(self.region)].put_object(
                pending.settings.bucket,
                pending.key,
                "".join(f"{line}\n" for line in pending.lines).encode(),
                encryption="aws:kms" if kms else None,
                kms_key_id=kms,
            )
        except Exception as error:  # a missing bucket never fails the requests themselves
            print(f"data capture: s3://{pending.settings.bucket}/{pending.key}: {error}")


_sampler = Sampler()
_writers: dict[tuple[str, str], Writer] = {}
_writers_lock = threading.Lock()


def capture(
    account_id: str, region: str, config: Mapping[str, Any] | None, exchange: Exchange
) -> bool:
    """Capture the request if the serving EndpointConfig's `DataCaptureConfig` says so; True if
    it was (it reaches S3 within `FLUSH_SECONDS`)."""
    settings = settings_of(config)
    if settings is None or not settings.modes:
        return False
    if not _sampler.take(exchange.endpoint, exchange.variant, settings.sampling_percent):
        return False
    line = json.dumps(record(exchange, settings, event_id=str(uuid.uuid4())))
    with _writers_lock:
        writer = _writers.setdefault((account_id, region), Writer(account_id, region))
    folder = hour_prefix(settings, exchange.endpoint, exchange.variant, exchange.at)
    writer.add(line, settings, folder, exchange.at)
    return True


def flush() -> None:
    """Write every pending record now (tests, to read at once)."""
    with _writers_lock:
        writers = list(_writers.values())
    for writer in writers:
        writer.flush()


def forget() -> None:
    """Drop samplers' counts and pending records (between tests)."""
    global _sampler
    with _writers_lock:
        _writers.clear()
    _sampler = Sampler()
