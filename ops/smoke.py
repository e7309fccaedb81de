"""Does an endpoint's answer to the smoke request meet the model's expectation?

The expectation is the model's `smoke` section (`configs.smoke`): a status, a content type, a
JSON path that must exist, labels at a label path; with none of these, HTTP 200 and a body
that parses as the request's accept type. `check` returns every unmet expectation, each naming
the field of the model's config that it comes from, so that the verifier's message names the
endpoint, the file and the field. Label paths are read as the evaluation set reads them
(`ops.evaluation.compare.walk`), so `smoke.expect.labels` and `evaluation.label_path` share one
meaning.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from configs.evaluation import Evaluation
from configs.smoke import Smoke, label_settings
from ops.evaluation.compare import MissingPath, label_text, walk


@dataclass(frozen=True)
class Unmet:
    """One expectation the answer does not meet: the config field and what was found."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def _json(body: bytes) -> Any:
    return json.loads(body)


def _json_lines(body: bytes) -> Any:
    return [json.loads(line) for line in body.decode("utf-8").splitlines() if line.strip()]


def _csv(body: bytes) -> Any:
    return list(csv.reader(io.StringIO(body.decode("utf-8"), newline=""), strict=True))


def _text(body: bytes) -> Any:
    return body.decode("utf-8")


def _npy(body: bytes) -> Any:
    import numpy as np  # only a model answering .npy needs it

    return np.load(io.BytesIO(body), allow_pickle=False)


# Accept types whose bodies can be parsed here; the inference toolkit's encoders produce JSON,
# CSV and NPY (sagemaker_inference.encoder), models may answer JSON Lines or other text.
PARSERS: dict[str, Callable[[bytes], Any]] = {
    "application/json": _json,
    "application/jsonlines": _json_lines,
    "application/x-jsonlines": _json_lines,
    "text/csv": _csv,
    "application/x-npy": _npy,
}


def parse(body: bytes, accept: str) -> tuple[Any, str | None]:
    """The parsed body, or None and why it does not parse as `accept`."""
    media = _media_type(accept)
    parser = PARSERS.get(media) or (_json if media.endswith("+json") else None)
    if parser is None and media.startswith("text/"):
        parser = _text
    if parser is None:
        return None, None if body else "the body is empty"
    try:
        return parser(body), None
    except (ValueError, UnicodeDecodeError, csv.Error, OSError) as error:
        return None, f"the body does not parse as {media} ({error}): {body[:80]!r}"


def _labels(document: Any, expected: tuple[Any, ...], *, path: str, argmax: bool) -> Unmet | None:
    field = "smoke.expect.labels"
    try:
        found = [label_text(value, argmax=argmax) for _, value in walk(document, path)]
    except MissingPath as error:
        return Unmet(field, f"cannot read labels at {path!r}: {error}")
    want = [label_text(value, argmax=False) for value in expected]
    if found != want:
        how = " (argmax)" if argmax else ""
        return Unmet(field, f"expected {want} at {path!r}{how}, the answer has {found}")
    return None


def check(
    smoke: Smoke,
    evaluation: Evaluation | None,
    *,
    status: int,
    content_type: str,
    body: bytes,
) -> list[Unmet]:
    """Every expectation of `smoke` that the answer (status, Content-Type, body) does not meet."""
    expect = smoke.expect
    if status != expect.status:
        return [
            Unmet(
                "smoke.expect.status",
                f"expected HTTP {expect.status}, got {status}: {body[:120]!r}",
            )
        ]
    unmet = []
    if expect.content_type is not None and _media_type(content_type) != _media_type(
        expect.content_type
    ):
        unmet.append(
            Unmet(
                "smoke.expect.content_type",
                f"expected {expect.content_type}, the answer is {content_type or '(none)'}",
            )
        )
    document, problem = parse(body, smoke.accept)
    if problem is not None:
        return [*unmet, Unmet("smoke.accept", problem)]
    if expect.json_path is not None:
        try:
            walk(document, expect.json_path)
        except MissingPath as error:
            unmet.append(Unmet("smoke.expect.json_path", f"{expect.json_path!r}: {error}"))
    if expect.labels is not None:
        path, label_from = label_settings(smoke, evaluation)
        if path is not None:
            wrong = _labels(document, expect.labels, path=path, argmax=label_from == "argmax")
            if wrong is not None:
                unmet.append(wrong)
    return unmet


def passed(smoke: Smoke) -> str:
    """What a passing answer showed, for the verifier's table."""
    expect = smoke.expect
    if expect.labels is not None:
        return f"ok ({len(expect.labels)} label(s) as expected)"
    if expect.json_path is not None:
        return f"ok (`{expect.json_path}` present)"
    return f"ok (HTTP {expect.status}, {_media_type(smoke.accept)})"
