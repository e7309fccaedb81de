"""Data capture as the emulator writes it, checked against SageMaker's documented record."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest

from ops.drift import captured
from ops.emulator import data_capture, model_servers
from tests.emulator_support import (
    REGION,
    FakeModelServer,
    bootstrapped,
    deploy,
    sagemaker_resources,
    template,
)

AT = datetime(2024, 5, 1, 12, 34, 56, 789000, tzinfo=UTC)

# The record on "Capture data from real-time endpoint", section "View Captured Data"
# (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html),
# written down as a JSON Schema: the fields the page shows, the encodings named there and on
# API_DataCaptureConfig (CSV, JSON, BASE64), and `inferenceId`, which InvokeEndpoint's
# InferenceId adds (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_InvokeEndpoint.html).
_SIDE_PROPERTIES: dict[str, Any] = {
    "observedContentType": {"type": "string", "minLength": 1},
    "data": {"type": "string"},
    "encoding": {"enum": ["CSV", "JSON", "BASE64"]},
}


def _side(mode: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["observedContentType", "mode", "data", "encoding"],
        "additionalProperties": False,
        "properties": {**_SIDE_PROPERTIES, "mode": {"const": mode}},
    }


CAPTURE_RECORD_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["captureData", "eventMetadata", "eventVersion"],
    "additionalProperties": False,
    "properties": {
        "captureData": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": False,
            "properties": {
                "endpointInput": _side("INPUT"),
                "endpointOutput": _side("OUTPUT"),
            },
        },
        "eventMetadata": {
            "type": "object",
            "required": ["eventId", "inferenceTime"],
            "additionalProperties": False,
            "properties": {
                "eventId": {
                    "type": "string",
                    "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
                },
                "inferenceTime": {
                    "type": "string",
                    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$",
                },
                "inferenceId": {"type": "string"},
            },
        },
        "eventVersion": {"const": "0"},
    },
}
# "s3://{destination-bucket-prefix}/{endpoint-name}/{variant-name}/yyyy/mm/dd/hh/filename.jsonl"
KEY = re.compile(r"^data-capture/staging-iris/primary/\d{4}/\d{2}/\d{2}/\d{2}/[^/]+\.jsonl$")


def settings(**config: Any) -> data_capture.Settings:
    base = {
        "EnableCapture": True,
        "InitialSamplingPercentage": 100,
        "DestinationS3Uri": "s3://bucket/data-capture",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    }
    found = data_capture.settings_of({**base, **config})
    assert found is not None
    return found


def exchange(
    body: bytes = b'{"instances": [[1, 2]]}', kind: str = "application/json"
) -> data_capture.Exchange:
    return data_capture.Exchange(
        endpoint="staging-iris",
        variant="primary",
        request=body,
        request_type=kind,
        response=b'{"predictions": [0]}',
        response_type="application/json",
        at=AT,
    )


def test_the_documented_example_record_passes_the_schema() -> None:
    """The schema accepts the page's own example (so it is not stricter than the docs)."""
    example: dict[str, Any] = {
        "captureData": {
            "endpointInput": {
                "observedContentType": "text/csv",
                "mode": "INPUT",
                "data": "69,0,153.7,109,194.0,105,256.1,114,14.1,6,1,0",
                "encoding": "CSV",
            },
            "endpointOutput": {
                "observedContentType": "text/csv; charset=character-encoding",
                "mode": "OUTPUT",
                "data": "0.023190177977085114",
                "encoding": "CSV",
            },
        },
        "eventMetadata": {
            "eventId": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            "inferenceTime": "2022-02-14T17:25:49Z",
        },
        "eventVersion": "0",
    }
    jsonschema.validate(example, CAPTURE_RECORD_SCHEMA)
    example["captureData"]["endpointInput"]["encoding"] = "TEXT"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(example, CAPTURE_RECORD_SCHEMA)


def test_without_content_type_headers_the_payload_is_base64() -> None:
    record = data_capture.record(
        exchange(), settings(), event_id="4651a1bf-4b00-4248-a309-4a18b11e4277"
    )
    jsonschema.validate(record, CAPTURE_RECORD_SCHEMA)
    side = record["captureData"]["endpointInput"]
    assert side["encoding"] == "BASE64" and side["mode"] == "INPUT"
    assert base64.b64decode(side["data"]) == b'{"instances": [[1, 2]]}'
    assert record["eventMetadata"]["inferenceTime"] == "2024-05-01T12:34:56Z"


def test_listed_content_types_are_captured_as_text() -> None:
    header = {"CsvContentTypes": ["text/csv"], "JsonContentTypes": ["application/json"]}
    chosen = settings(CaptureContentTypeHeader=header)
    as_csv = data_capture.record(
        exchange(b"5.1,3.5,1.4,0.2", "text/csv; charset=utf-8"), chosen, event_id=str(_uuid())
    )
    jsonschema.validate(as_csv, CAPTURE_RECORD_SCHEMA)
    side = as_csv["captureData"]["endpointInput"]
    assert (side["encoding"], side["data"]) == ("CSV", "5.1,3.5,1.4,0.2")
    assert side["observedContentType"] == "text/csv; charset=utf-8"
    assert as_csv["captureData"]["endpointOutput"]["encoding"] == "JSON"


def test_capture_options_choose_the_sides() -> None:
    only_input = settings(CaptureOptions=[{"CaptureMode": "Input"}])
    record = data_capture.record(exchange(), only_input, event_id=str(_uuid()))
    assert list(record["captureData"]) == ["endpointInput"]
    both = settings(CaptureOptions=[{"CaptureMode": "InputAndOutput"}])
    assert both.modes == {"INPUT", "OUTPUT"}


def test_disabled_or_missing_capture_captures_nothing() -> None:
    assert data_capture.settings_of(None) is None
    assert data_capture.settings_of({}) is None
    for off in (False, "false", "False"):
        config: dict[str, Any] = {
            "EnableCapture": off,
            "DestinationS3Uri": "s3://b/p",
            "CaptureOptions": [],
        }
        assert data_capture.settings_of(config) is None


def test_sampling_takes_the_percentage_spread_evenly() -> None:
    sampler = data_capture.Sampler()
    taken = [sampler.take("e", "v", 10) for _ in range(100)]
    assert sum(taken) == 10 and taken[9] and not any(taken[:9])
    assert sum(sampler.take("e", "other", 0) for _ in range(50)) == 0
    assert all(sampler.take("x", "v", 100) for _ in range(20))


def test_key_layout_is_endpoint_variant_and_hour() -> None:
    folder = data_capture.hour_prefix(settings(), "staging-iris", "primary", AT)
    assert folder == "data-capture/staging-iris/primary/2024/05/01/12"
    assert re.fullmatch(r"34-56-789-[0-9a-f-]{36}\.jsonl", data_capture.file_name(AT))


def _uuid() -> str:
    import uuid

    return str(uuid.uuid4())


def _with_capture(config: dict[str, Any]) -> str:
    resources = sagemaker_resources("s3://bucket/a.tar.gz")
    resources["Config"]["Properties"]["DataCaptureConfig"] = config
    return template(resources)


def test_invoke_endpoint_writes_documented_records_to_s3(
    aws_credentials: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Through the emulator's InvokeEndpoint, as deployed by CloudFormation: 50 % of requests
    land under <destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/, KMS-encrypted, parseable."""
    monkeypatch.setattr(model_servers, "start_model_server", lambda a, e: FakeModelServer(a))
    monkeypatch.setattr(model_servers, "_pool", model_servers.ServerPool(1, tmp_path))
    data_capture.forget()
    with bootstrapped():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket="bucket", Key="a.tar.gz", Body=b"a")
        key_arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        config: dict[str, Any] = {
            "EnableCapture": True,
            "InitialSamplingPercentage": 50,
            "DestinationS3Uri": "s3://bucket/data-capture",
            "KmsKeyId": key_arn,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        }
        deploy("Staging-iris", _with_capture(config))
        client = boto3.client("sagemaker-runtime")
        bodies = [json.dumps({"instances": [[float(i), 1.0, 2.0, 3.0]]}).encode() for i in range(6)]
        for body in bodies:
            client.invoke_endpoint(
                EndpointName="staging-iris",
                Body=body,
                ContentType="application/json",
                InferenceId="request-7",
            )
        data_capture.flush()
        keys = [
            o["Key"]
            for o in s3.list_objects_v2(Bucket="bucket", Prefix="data-capture/")["Contents"]
        ]
        assert keys and all(KEY.match(key) for key in keys), keys
        head = s3.head_object(Bucket="bucket", Key=keys[0])
        assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key_arn
        lines = [
            line
            for key in keys
            for line in s3.get_object(Bucket="bucket", Key=key)["Body"].read().decode().splitlines()
        ]
        assert len(lines) == 3  # every second request
        for line in lines:
            record = json.loads(line)
            jsonschema.validate(record, CAPTURE_RECORD_SCHEMA)
            assert record["eventMetadata"]["inferenceId"] == "request-7"
        parsed = captured.read_s3(
            s3, destination="s3://bucket/data-capture", endpoint="staging-iris"
        )
        assert [row["_c0"] for row in parsed.rows] == [1.0, 3.0, 5.0]  # JSON values as sent
        assert parsed.records == 3 and parsed.objects == len(keys)
        model_servers.shutdown()
