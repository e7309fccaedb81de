"""Captured requests read back: an endpoint's data capture objects in S3, parsed into rows.

The records are SageMaker's data capture JSON Lines ("Capture data from real-time endpoint",
https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html):
each `captureData.endpointInput` has `data` in the `encoding` CSV, JSON (the payload's text) or
BASE64 (the payload's bytes), and the request's `observedContentType`, which says how to parse
the payload:

- `text/csv`: one row per line, comma-separated, no header;
- `application/json`: `{"instances": [...]}`, a bare list of rows, or one row;
  `application/jsonlines`: one row per line; a row is a list (nested lists, such as an image,
  are flattened in order) or an object of named values;
- anything else (`application/x-npy`, ...) is counted as skipped, not guessed at.

Columns of unnamed rows are `_c0`, `_c1`, ..., as Model Monitor names the columns of a CSV
without a header. Values stay as the request had them (CSV cells as text, JSON values as
decoded): `bundler.baseline.Dataset` types them, the same way it typed the baseline's data.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

Row = dict[str, object]

CSV_TYPES = frozenset({"text/csv"})
JSON_TYPES = frozenset({"application/json"})
JSON_LINES_TYPES = frozenset({"application/jsonlines", "application/x-jsonlines"})


class CaptureFormatError(ValueError):
    """A captured object that is not SageMaker's data capture format; the message says where."""


@dataclass
class Parsed:
    """Rows from the captured requests, and what could not be read (content type: count)."""

    rows: list[Row] = field(default_factory=list)
    records: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    first: str | None = None  # inferenceTime of the earliest and latest record
    last: str | None = None
    objects: int = 0  # capture objects read


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def decoded(side: Mapping[str, Any]) -> bytes:
    """The payload of `endpointInput` / `endpointOutput`, whatever its `encoding`."""
    data = side.get("data")
    if not isinstance(data, str):
        raise CaptureFormatError("captured data is not a string")
    encoding = str(side.get("encoding", "")).upper()
    if encoding == "BASE64":
        return base64.b64decode(data, validate=True)
    if encoding in ("CSV", "JSON"):
        return data.encode("utf-8")
    raise CaptureFormatError(f"unknown encoding {side.get('encoding')!r}")


def csv_rows(text: str) -> list[Row]:
    return [
        {f"_c{i}": cell for i, cell in enumerate(cells)}
        for cells in csv.reader(io.StringIO(text))
        if cells
    ]


def _flat(values: Iterable[Any]) -> Iterator[Any]:
    for value in values:
        if isinstance(value, list):
            yield from _flat(value)
        else:
            yield value


def _row(instance: Any) -> Row:
    if isinstance(instance, Mapping):
        return {str(name): value for name, value in instance.items()}
    if isinstance(instance, list):
        return {f"_c{i}": value for i, value in enumerate(_flat(instance))}
    return {"_c0": instance}


def json_rows(document: Any) -> list[Row]:
    """Rows of a JSON request: `{"instances": [...]}`, a list of rows, or one row."""
    if isinstance(document, Mapping) and isinstance(document.get("instances"), list):
        document = document["instances"]
    if (
        isinstance(document, list)
        and document
        and all(isinstance(item, list | Mapping) for item in document)
    ):
        return [_row(item) for item in document]
    return [_row(document)]


def request_rows(content_type: str, payload: bytes) -> list[Row] | None:
    """The rows of one request; None when its content type is not one this reads."""
    media = media_type(content_type)
    text = payload.decode("utf-8")
    if media in CSV_TYPES:
        return csv_rows(text)
    if media in JSON_TYPES:
        return json_rows(json.loads(text))
    if media in JSON_LINES_TYPES:
        lines = [line for line in text.splitlines() if line.strip()]
        return [row for line in lines for row in json_rows(json.loads(line))]
    return None


def parse(
    lines: Iterable[str], *, source: str, into: Parsed | None = None, since: str | None = None
) -> Parsed:
    """Add the requests of one captured object's JSON Lines to `into`.

    Args:
        since: skip records whose `inferenceTime` (`YYYY-MM-DDTHH:MM:SSZ`) is earlier.

    Raises:
        CaptureFormatError: a line that is not a capture record, naming `source` and the line.
    """
    parsed = into if into is not None else Parsed()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{source}, line {number}"
        try:
            record = json.loads(line)
            side = record["captureData"]["endpointInput"]
            time = str(record["eventMetadata"]["inferenceTime"])
            if since is not None and time < since:
                continue
            content_type = str(side["observedContentType"])
            rows = request_rows(content_type, decoded(side))
        except KeyError as error:
            raise CaptureFormatError(f"{where}: no {error} (Input not captured?)") from error
        except (ValueError, TypeError) as error:  # JSON, base64, UTF-8 and CSV errors
            raise CaptureFormatError(f"{where}: {error}") from error
        parsed.records += 1
        parsed.first = min(parsed.first or time, time)
        parsed.last = max(parsed.last or time, time)
        if rows is None:
            kind = media_type(content_type)
            parsed.skipped[kind] = parsed.skipped.get(kind, 0) + 1
        else:
            parsed.rows.extend(rows)
    return parsed


def split_s3(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` as ("bucket", "some/prefix")."""
    if not url.startswith("s3://"):
        raise CaptureFormatError(f"{url} is not an s3:// URL")
    bucket, _, prefix = url[len("s3://") :].partition("/")
    return bucket, prefix.strip("/")


def read_s3(s3: Any, *, destination: str, endpoint: str, since: str | None = None) -> Parsed:
    """Every capture object of `endpoint` under the `DestinationS3Uri` `destination` (all its
    variants and hours), parsed in key order (variant, then time)."""
    bucket, prefix = split_s3(destination)
    folder = "/".join(part for part in (prefix, endpoint) if part) + "/"
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=folder):
        keys += [item["Key"] for item in page.get("Contents", []) if item["Key"].endswith(".jsonl")]
    parsed = Parsed()
    for key in sorted(keys):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        parse(body.splitlines(), source=f"s3://{bucket}/{key}", into=parsed, since=since)
    parsed.objects = len(keys)
    return parsed
