"""Captured requests parsed back into rows: CSV and JSON, each encoding data capture writes."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from ops.drift import captured


def record(data: str, *, content_type: str, encoding: str, at: str = "2024-05-01T12:00:00Z") -> str:
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": content_type,
                    "mode": "INPUT",
                    "data": data,
                    "encoding": encoding,
                }
            },
            "eventMetadata": {"eventId": "e", "inferenceTime": at},
            "eventVersion": "0",
        }
    )


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_csv_rows_are_positional_columns_of_cell_text() -> None:
    lines = [
        record("5.1,3.5,1.4,0.2\n6.2,,4.3,red", content_type="text/csv", encoding="CSV"),
        record(b64("7.7,3.0,6.1,2.3"), content_type="text/csv; charset=utf-8", encoding="BASE64"),
    ]
    parsed = captured.parse(lines, source="test")
    assert parsed.rows == [
        {"_c0": "5.1", "_c1": "3.5", "_c2": "1.4", "_c3": "0.2"},
        {"_c0": "6.2", "_c1": "", "_c2": "4.3", "_c3": "red"},
        {"_c0": "7.7", "_c1": "3.0", "_c2": "6.1", "_c3": "2.3"},
    ]
    assert parsed.records == 2


@pytest.mark.parametrize(
    ("document", "rows"),
    [
        ({"instances": [[1, 2.5], [3, 4]]}, [{"_c0": 1, "_c1": 2.5}, {"_c0": 3, "_c1": 4}]),
        ([[1, 2]], [{"_c0": 1, "_c1": 2}]),
        ([1, 2], [{"_c0": 1, "_c1": 2}]),
        ({"instances": [[[1, 2], [3, 4]]]}, [{"_c0": 1, "_c1": 2, "_c2": 3, "_c3": 4}]),
        ({"instances": [{"a": 1, "b": "x"}]}, [{"a": 1, "b": "x"}]),
        ({"a": 1, "b": None}, [{"a": 1, "b": None}]),
    ],
)
def test_json_requests(document: Any, rows: list[dict[str, Any]]) -> None:
    text = json.dumps(document)
    for line in (
        record(text, content_type="application/json", encoding="JSON"),
        record(b64(text), content_type="application/json", encoding="BASE64"),
    ):
        assert captured.parse([line], source="test").rows == rows


def test_json_lines_and_unknown_types() -> None:
    lines = [
        record("[1, 2]\n[3, 4]\n", content_type="application/jsonlines", encoding="JSON"),
        record(b64("\x93NUMPY"), content_type="application/x-npy", encoding="BASE64"),
    ]
    parsed = captured.parse(lines, source="test")
    assert parsed.rows == [{"_c0": 1, "_c1": 2}, {"_c0": 3, "_c1": 4}]
    assert parsed.skipped == {"application/x-npy": 1}


def test_since_skips_older_records_and_times_are_kept() -> None:
    lines = [
        record("1", content_type="text/csv", encoding="CSV", at="2024-05-01T12:00:00Z"),
        record("2", content_type="text/csv", encoding="CSV", at="2024-05-01T12:00:05Z"),
        record("3", content_type="text/csv", encoding="CSV", at="2024-05-01T12:00:09Z"),
    ]
    parsed = captured.parse(lines, source="test", since="2024-05-01T12:00:05Z")
    assert [row["_c0"] for row in parsed.rows] == ["2", "3"]
    assert (parsed.first, parsed.last) == ("2024-05-01T12:00:05Z", "2024-05-01T12:00:09Z")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "s3://b/k, line 1"),
        (json.dumps({"captureData": {}}), "Input not captured"),
        (record("!!", content_type="text/csv", encoding="BASE64"), "line 1"),
        (record("x", content_type="text/csv", encoding="ZIP"), "unknown encoding"),
        (record("{", content_type="application/json", encoding="JSON"), "line 1"),
    ],
)
def test_malformed_records_name_the_object_and_line(line: str, message: str) -> None:
    with pytest.raises(captured.CaptureFormatError, match=message):
        captured.parse([line], source="s3://b/k")
