"""The smoke expectation: its config section fails at load naming the file and field, and the
checker judges answers by the model's own expectation (or, without one, by the accept type)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from configs.evaluation import Evaluation
from configs.smoke import Smoke
from ops.smoke import check, parse, passed
from tests.unit.test_evaluation_config import edit, problems

JSON = "application/json"


def smoke(**fields: Any) -> Smoke:
    return Smoke.model_validate(fields)


def unmet(
    config: Smoke,
    body: Any,
    *,
    status: int = 200,
    content_type: str = JSON,
    evaluation: Evaluation | None = None,
) -> list[str]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    found = check(config, evaluation, status=status, content_type=content_type, body=raw)
    return [str(item) for item in found]


# --------------------------------------------------------------------------------------------
# Without an expectation: HTTP 200 and a body that parses as the accept type.
# --------------------------------------------------------------------------------------------


def test_default_accepts_the_toolkits_plain_json_list() -> None:
    assert unmet(smoke(), [[0.1, 0.9], [0.8, 0.2]]) == []
    assert passed(smoke()) == "ok (HTTP 200, application/json)"


@pytest.mark.parametrize(
    ("accept", "body", "problem"),
    [
        (JSON, b"body", "does not parse as application/json"),
        (JSON, b"\xff", "does not parse as application/json"),
        ("application/jsonlines", b'{"a": 1}\n{"a": ', "does not parse as application/jsonlines"),
        ("text/csv", b'1,"2\n', "does not parse as text/csv"),
        ("text/plain", b"\xff\xfe", "does not parse as text/plain"),
        ("application/x-npy", b"not npy", "does not parse as application/x-npy"),
        ("application/octet-stream", b"", "the body is empty"),
    ],
)
def test_default_rejects_a_body_of_another_type(accept: str, body: bytes, problem: str) -> None:
    found = unmet(smoke(accept=accept), body)
    assert len(found) == 1 and found[0].startswith("smoke.accept: ") and problem in found[0]


def test_parses_each_declared_type() -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.eye(2))
    assert parse(b'{"a": 1}\n{"a": 2}\n', "application/jsonlines")[0] == [{"a": 1}, {"a": 2}]
    assert parse(b"1,2\n3,4\n", "text/csv; charset=utf-8")[0] == [["1", "2"], ["3", "4"]]
    assert parse(buffer.getvalue(), "application/x-npy")[0].shape == (2, 2)
    assert parse(b'{"a": 1}', "application/vnd.example+json")[0] == {"a": 1}
    assert parse(b"\x00", "application/octet-stream") == (None, None)


def test_another_status_fails_with_the_body() -> None:
    found = unmet(smoke(), b'{"error": "bad shape"}', status=400)
    assert found == ['smoke.expect.status: expected HTTP 200, got 400: b\'{"error": "bad shape"}\'']


# --------------------------------------------------------------------------------------------
# Expectations: content type, a JSON path, labels.
# --------------------------------------------------------------------------------------------


def test_content_type_ignores_parameters() -> None:
    config = smoke(expect={"content_type": JSON})
    assert unmet(config, [1], content_type="application/json; charset=utf-8") == []
    assert unmet(config, [1], content_type="text/csv") == [
        "smoke.expect.content_type: expected application/json, the answer is text/csv"
    ]


def test_json_path_must_exist() -> None:
    config = smoke(expect={"json_path": "predictions[0].label"})
    assert unmet(config, {"predictions": [{"label": "a"}]}) == []
    assert unmet(config, [[0.1, 0.9]]) == [
        "smoke.expect.json_path: 'predictions[0].label': no 'predictions' in the response "
        "(a list of 1)"
    ]
    assert passed(config) == "ok (`predictions[0].label` present)"


def test_labels_at_their_own_path_by_argmax() -> None:
    config = smoke(expect={"labels": [1, 0], "label_path": "[*]", "label_from": "argmax"})
    assert unmet(config, [[0.1, 0.9], [0.7, 0.3]]) == []
    assert unmet(config, [[0.1, 0.9], [0.2, 0.8]]) == [
        "smoke.expect.labels: expected ['1', '0'] at '[*]' (argmax), the answer has ['1', '1']"
    ]
    assert passed(config) == "ok (2 label(s) as expected)"


def test_labels_read_at_the_evaluation_sections_path() -> None:
    evaluation = Evaluation.model_validate(
        {"file": "evaluation.jsonl", "label_path": "[*]", "label_from": "argmax"}
    )
    config = smoke(expect={"labels": [1]})
    assert unmet(config, [[0.2, 0.8]], evaluation=evaluation) == []
    assert unmet(config, [[0.8, 0.2]], evaluation=evaluation) == [
        "smoke.expect.labels: expected ['1'] at '[*]' (argmax), the answer has ['0']"
    ]


def test_labels_where_the_answer_has_none() -> None:
    config = smoke(expect={"labels": ["setosa"], "label_path": "predictions[*].label"})
    assert unmet(config, {"outputs": []}) == [
        "smoke.expect.labels: cannot read labels at 'predictions[*].label': no 'predictions' "
        "in the response (an object with keys outputs)"
    ]


# --------------------------------------------------------------------------------------------
# The section when the configs load: file, field, fix; never a traceback.
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "field", "message"),
    [
        ({"request": "missing.json"}, "smoke.request", "'missing.json' does not exist in iris/"),
        ({"request": "../x.json"}, "smoke.request", "must be a relative path"),
        ({"expect": {"json_path": "a..b"}}, "smoke.expect.json_path", "is not a label path"),
        ({"expect": {"status": 700}}, "smoke.expect.status", "less than or equal to 599"),
        ({"expect": {"labels": []}}, "smoke.expect.labels", "at least 1 item"),
        ({"expect": {"label": "a"}}, "smoke.expect.label", "label"),
    ],
)
def test_a_bad_section_names_file_and_field(
    project_copy: Path, section: dict[str, Any], field: str, message: str
) -> None:
    edit(project_copy, lambda d: d.update(smoke=section))
    text = problems(project_copy)
    assert "models/iris/config.yaml" in text and f"{field}:" in text and message in text
    assert "Traceback" not in text


def test_a_request_that_is_not_json_fails(project_copy: Path) -> None:
    (project_copy / "models" / "iris" / "example.json").write_text("{not json")
    text = problems(project_copy)
    assert "smoke.request: example.json is not JSON" in text


def test_labels_without_any_label_path_fail(project_copy: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        data["evaluation"].pop("label_path")
        data.pop("quality")
        data.pop("training")

    edit(project_copy, change)
    text = problems(project_copy)
    assert "smoke.expect.label_path:" in text and "smoke.expect.labels are read at" in text


def test_the_section_cannot_differ_per_environment(project_copy: Path) -> None:
    edit(project_copy, lambda d: d["environments"]["prod"].update(smoke={"request": "x.json"}))
    assert "environments.prod.smoke" in problems(project_copy)
