"""The smoke test's request and what a good answer looks like, from the model's own folder.

After every deploy, `ops verify --smoke` sends one request to each endpoint (the deploy workflow,
`make deploy-local` and the drill run the same verifier). What a good answer is belongs to the
model, not to one response format: a model written as the SageMaker PyTorch documentation shows
answers with the inference toolkit's default `output_fn` (a plain JSON list), the example models
with `{"predictions": [...]}`. So the section says what to send and, optionally, what to expect:

    smoke:
      request: example.json           # the default
      expect:
        labels: [setosa, versicolor]  # at evaluation.label_path unless label_path is given

Without an `expect`, a good answer is HTTP 200 with a body that parses as the `accept` type.
What can be checked without a model is checked when the config loads (the request file exists,
a JSON request parses, label paths parse, labels have somewhere to be read from); what only
the endpoint can show is reported by the verifier, naming the endpoint, this file and the field.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field, StrictInt, StrictStr, ValidationInfo, field_validator, model_validator

from configs.base import Items, RelPath, Strict, fail, relative_path
from configs.evaluation import JSON_TYPE, parse_path

DEFAULT_REQUEST = "example.json"
# SageMaker caps an InvokeEndpoint payload at 6 MB (InvokeEndpoint, Body); a smoke request is one
# small example, so a larger file is a mistake.
MAX_REQUEST_BYTES = 6 * 10**6
Label = StrictStr | StrictInt


class Expect(Strict):
    """What a good answer to the smoke request looks like; every field is optional."""

    status: StrictInt = Field(
        200, ge=100, le=599, description="HTTP status of a good answer (default 200)."
    )
    content_type: StrictStr | None = Field(
        None,
        description="Content-Type the answer must carry, for example 'application/json' "
        "(parameters such as '; charset=utf-8' are ignored); unset: not checked.",
    )
    json_path: StrictStr | None = Field(
        None,
        description="A path that must exist in the JSON answer, for example "
        "'predictions[*].label' ('[*]': every element of a list, '[0]': one element).",
    )
    labels: Items[Label] | None = Field(
        None,
        min_length=1,
        description="The labels the answer must carry, in order, read at label_path (or the "
        "evaluation section's label_path and label_from when label_path is unset).",
    )
    label_path: StrictStr | None = Field(
        None,
        description="Where each label sits in the JSON answer; unset: evaluation.label_path.",
    )
    label_from: Literal["value", "argmax"] | None = Field(
        None,
        description="'value': the label is the value at label_path; 'argmax': the index of the "
        "largest number in the list there. Unset: evaluation.label_from, else 'value'.",
    )

    @field_validator("json_path", "label_path", mode="after")
    @classmethod
    def _paths_parse(cls, value: str | None) -> str | None:
        if value is not None:
            parse_path(value)
        return value


class Smoke(Strict):
    """The one request the verifier sends after a deploy, and the answer it expects."""

    request: RelPath = Field(
        DEFAULT_REQUEST,
        description="File in the model folder holding the request body (not packed into the "
        "bundle).",
    )
    content_type: StrictStr = Field(JSON_TYPE, description="Content-Type of the request.")
    accept: StrictStr = Field(
        JSON_TYPE,
        description="Accept header of the request; without an expect section, the answer "
        "must parse as this type (JSON, JSON Lines, CSV or other text, NumPy .npy).",
    )
    expect: Expect = Field(
        default_factory=Expect,
        description="What a good answer looks like; unset: HTTP 200 and a body that parses "
        "as the accept type.",
    )

    @field_validator("request", mode="after")
    @classmethod
    def _inside_folder(cls, value: str) -> str:
        return relative_path(value)

    @model_validator(mode="after")
    def _request_reads(self, info: ValidationInfo) -> Smoke:
        folder = (info.context or {}).get("model_dir")
        if folder is None:
            return self
        path = folder / self.request
        if not path.is_file():
            fail(
                ("request",),
                f"{self.request!r} does not exist in {folder.name}/; add the request the "
                "smoke test sends, or fix the name",
                value=self.request,
            )
        if path.stat().st_size > MAX_REQUEST_BYTES:
            fail(("request",), f"{self.request} is larger than 6 MB", value=self.request)
        if self.content_type == JSON_TYPE:
            try:
                json.loads(path.read_bytes())
            except (UnicodeDecodeError, ValueError) as error:
                fail(
                    ("request",),
                    f"{self.request} is not JSON ({error}); fix it, or set content_type",
                    value=self.request,
                )
        return self


def label_settings(smoke: Smoke, evaluation: Any) -> tuple[str | None, Literal["value", "argmax"]]:
    """Where the expected labels are read, and how: the smoke section's own settings, else the
    evaluation section's (`evaluation` is a `configs.evaluation.Evaluation` or None)."""
    expect = smoke.expect
    path = expect.label_path or (evaluation.label_path if evaluation is not None else None)
    if expect.label_from is not None:
        return path, expect.label_from
    if expect.label_path is None and evaluation is not None:
        return path, evaluation.label_from
    return path, "value"
