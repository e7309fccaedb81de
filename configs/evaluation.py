"""The evaluation set: requests in the model's own format, and where each answer's label sits.

A model's `evaluation` section names a JSON Lines file in its folder (never packed into the
bundle), one request per line with the labels its answers should carry:

    {"request": {"instances": [[5.1, 3.5, 1.4, 0.2]]}, "labels": ["setosa"]}

The PR diff sends every request to the base and the head bundle and compares the answers; the
labels give the `quality` metric on both sides. What can be checked without running a model is
checked here, once, when the config loads: the file exists, every line has the right shape, the
label path parses. What only a model can show (a label path its response lacks, a request it
rejects) is reported by the diff, naming the same file and field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, StrictStr, ValidationInfo, field_validator, model_validator

from configs.base import RelPath, Strict, fail, relative_path

JSON_TYPE = "application/json"
# Requests are written as JSON values, so the body is JSON or text (a CSV row as a string).
TEXT_TYPES = re.compile(r"^(application/json|application/jsonlines|text/[a-z0-9.+-]+)$")
# Enough for a meaningful metric, small enough that two bundles answer it in seconds.
MAX_REQUESTS = 2000
MAX_FILE_BYTES = 5 * 2**20
LINE_KEYS = ("request", "label", "labels")

# Metrics an evaluation computes from labels: accuracy (the share of answers whose label is the
# expected one) and its complement. A quality.metric is read by its last word, so train.py's
# `test_accuracy` is the evaluation's accuracy on held-out requests.
METRICS: dict[str, bool] = {"accuracy": True, "error_rate": False}  # name -> greater is better


def metric_kind(name: str) -> str | None:
    """`test_accuracy` -> `accuracy`; None for a metric the evaluation cannot compute."""
    for kind in METRICS:
        if name == kind or name.endswith(f"_{kind}"):
            return kind
    return None


# --------------------------------------------------------------------------------------------
# Label paths: `predictions[*].label`, `[*]`, `outputs.scores[0]`.
# --------------------------------------------------------------------------------------------

Step = tuple[Literal["key"], str] | tuple[Literal["each"], None] | tuple[Literal["index"], int]
_STEP = re.compile(r"\[(\*|[0-9]+)\]|([A-Za-z_][A-Za-z0-9_-]*)")


def parse_path(text: str) -> tuple[Step, ...]:
    """The steps of a label path; a ValueError says where it stops making sense.

    Keys are separated by dots; `[*]` is every element of a list, `[n]` one element.
    """
    steps: list[Step] = []
    position = 0
    while position < len(text):
        if steps and text[position] == "." and position + 1 < len(text):
            position += 1
        elif steps and text[position] != "[":
            break
        match = _STEP.match(text, position)
        if match is None:
            break
        if match.group(2) is not None:
            steps.append(("key", match.group(2)))
        elif match.group(1) == "*":
            steps.append(("each", None))
        else:
            steps.append(("index", int(match.group(1))))
        position = match.end()
    if not steps or position != len(text):
        raise ValueError(
            f"{text!r} is not a label path: write keys separated by dots, [*] for every "
            "element of a list, [n] for one, for example 'predictions[*].label'"
        )
    return tuple(steps)


# --------------------------------------------------------------------------------------------
# The file: one JSON object per line.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One request of the evaluation set: the body as sent, and the labels expected (or None)."""

    line: int
    body: bytes
    labels: tuple[Any, ...] | None


@dataclass(frozen=True)
class EvaluationSet:
    path: Path
    cases: tuple[Case, ...]

    @property
    def labelled(self) -> bool:
        return all(case.labels is not None for case in self.cases)


class SetError(ValueError):
    """A line of the evaluation file is wrong; the message names the line."""


def _body(request: Any, content_type: str) -> bytes:
    if isinstance(request, str) and content_type != JSON_TYPE:
        return request.encode("utf-8")
    return json.dumps(request).encode("utf-8")


def _labels(item: dict[str, Any], line: int) -> tuple[Any, ...] | None:
    if "label" in item and "labels" in item:
        raise SetError(f"line {line}: give 'label' or 'labels', not both")
    if "labels" in item:
        labels = item["labels"]
        if not isinstance(labels, list) or not labels:
            raise SetError(f"line {line}: 'labels' must be a non-empty list, one per answer")
        values = tuple(labels)
    elif "label" in item:
        values = (item["label"],)
    else:
        return None
    if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in values):
        raise SetError(f"line {line}: labels must be strings or integers, got {values!r}")
    return values


def _case(text: str, line: int, *, content_type: str) -> Case:
    try:
        item = json.loads(text)
    except json.JSONDecodeError as error:
        raise SetError(f"line {line}: not valid JSON ({error.msg})") from None
    if not isinstance(item, dict) or "request" not in item:
        raise SetError(f'line {line}: each line is an object {{"request": ..., "labels": [...]}}')
    unknown = sorted(set(item) - set(LINE_KEYS))
    if unknown:
        raise SetError(f"line {line}: unknown key(s) {unknown}; allowed: {', '.join(LINE_KEYS)}")
    return Case(line, _body(item["request"], content_type), _labels(item, line))


def read_set(path: Path, *, content_type: str = JSON_TYPE) -> EvaluationSet:
    """Every request of an evaluation file, in file order (blank lines skipped).

    Raises:
        SetError: the file cannot be read, is too large or empty, or a line is malformed.
    """
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise SetError(f"larger than {MAX_FILE_BYTES // 2**20} MiB; keep evaluation sets small")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SetError(f"cannot be read: {error}") from None
    cases = [
        _case(line, number, content_type=content_type)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]
    if not cases:
        raise SetError("has no requests; write one JSON object per line")
    if len(cases) > MAX_REQUESTS:
        raise SetError(f"has {len(cases)} requests; at most {MAX_REQUESTS} keep the diff fast")
    return EvaluationSet(path, tuple(cases))


# --------------------------------------------------------------------------------------------
# The config section.
# --------------------------------------------------------------------------------------------


class Evaluation(Strict):
    """Requests the PR diff sends to the base and the head bundle, and how to read the answers."""

    file: RelPath = Field(
        description="JSON Lines file in the model folder, one request per line: "
        '{"request": <body in the model\'s request format>, "labels": [<one per answer>]} '
        "(or 'label' for one answer). Not packed into the bundle.",
    )
    label_path: StrictStr | None = Field(
        None,
        description="Where each answer's label sits in the JSON response, for example "
        "'predictions[*].label' ('[*]': every element of a list, '[0]': one element). Unset: "
        "answers are compared whole and no metric is computed.",
    )
    label_from: Literal["value", "argmax"] = Field(
        "value",
        description="'value': the label is the value at label_path; 'argmax': it is the index "
        "of the largest number in the list at label_path (a plain list of class scores).",
    )
    content_type: StrictStr = Field(
        JSON_TYPE,
        description="Content-Type of every request: application/json or a text type (a "
        "string request is sent as it is).",
        pattern=TEXT_TYPES.pattern,
    )
    accept: StrictStr = Field(JSON_TYPE, description="Accept header of every request.")

    @field_validator("file", mode="after")
    @classmethod
    def _inside_folder(cls, value: str) -> str:
        return relative_path(value)

    @field_validator("label_path", mode="after")
    @classmethod
    def _label_path_parses(cls, value: str | None) -> str | None:
        if value is not None:
            parse_path(value)
        return value

    @model_validator(mode="after")
    def _file_reads(self, info: ValidationInfo) -> Evaluation:
        folder = (info.context or {}).get("model_dir")
        if folder is None:
            return self
        path = folder / self.file
        if not path.is_file():
            fail(
                ("file",),
                f"{self.file!r} does not exist in {folder.name}/; add the evaluation set or fix "
                "the name",
                value=self.file,
            )
        try:
            found = read_set(path, content_type=self.content_type)
        except SetError as error:
            fail(("file",), f"{self.file} {error}", value=self.file)
        if self.label_path is not None and not found.labelled:
            line = next(case.line for case in found.cases if case.labels is None)
            fail(
                ("file",),
                f"{self.file} line {line}: no 'labels'; with label_path set, every request "
                "needs the labels its answers should carry",
                value=self.file,
            )
        return self
