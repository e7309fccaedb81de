"""Request and response bodies for the serving handlers: JSON and NPY, with client errors.

A malformed or wrong-shaped request raises `ClientError` (a subclass of the inference toolkit's
`BaseInferenceToolkitError`, so the toolkit answers with its status code, never a 500).

Inside the serving container the toolkit would also append a Python traceback to the body of
any error it catches. The handlers avoid that: SageMaker's toolkit passes its request context to
a handler that takes one more argument, and `reject` uses it to set the status and turn the
request into a `Rejected` value that `predict_fn` passes through and `output_fn` renders as
`{"error": {"status": 400, "message": "..."}}`. Without a context (plain Python, tests) the
`ClientError` is raised as usual.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

JSON = "application/json"
NPY = "application/x-npy"

try:  # inside the serving container (and wherever the toolkit is installed)
    from sagemaker_inference.errors import BaseInferenceToolkitError as _ToolkitError
except ImportError:  # plain Python, for tests and local scripts

    class _ToolkitError(Exception):  # type: ignore[no-redef]
        def __init__(self, status_code: int, message: str, phrase: str) -> None:
            self.status_code = status_code
            self.message = message
            self.phrase = phrase
            super().__init__(status_code, message, phrase)


PHRASES = {400: "Bad Request", 406: "Not Acceptable", 415: "Unsupported Media Type"}


class ClientError(_ToolkitError):
    """The request is wrong; the status says how (400 bad body, 406 bad Accept, 415 bad type)."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(status_code, message, PHRASES.get(status_code, "Bad Request"))

    def __str__(self) -> str:
        return f"{self.status_code} {self.phrase}: {self.message}"


@dataclass(frozen=True)
class Rejected:
    """A request already answered with a client error; the handlers pass it through."""

    status_code: int
    message: str

    def body(self) -> tuple[bytes, str]:
        document = {"error": {"status": self.status_code, "message": self.message}}
        return json.dumps(document).encode("utf-8"), JSON


def reject(context: Any, error: ClientError) -> Rejected:
    """Set the response status on the toolkit's request context and return a `Rejected`."""
    if context is None:
        raise error
    context.set_response_status(code=error.status_code, phrase=error.phrase)
    return Rejected(error.status_code, error.message)


def media_type(content_type: str | None) -> str:
    """`application/json; charset=utf-8` -> `application/json`; none means JSON."""
    return (content_type or JSON).split(";")[0].strip().lower()


def decode_array(body: bytes | str, content_type: str | None) -> np.ndarray:
    """A float32 array from a JSON or NPY body.

    JSON may be `{"instances": [...]}` or a bare list; NPY must hold numbers.
    """
    kind = media_type(content_type)
    if kind == JSON:
        try:
            text = body.decode("utf-8") if isinstance(body, bytes | bytearray) else body
            data: Any = json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ClientError(f"body is not valid JSON: {error}") from None
        if isinstance(data, dict):
            if "instances" not in data:
                raise ClientError('JSON body must be a list or {"instances": [...]}')
            data = data["instances"]
        if not isinstance(data, list):
            raise ClientError('JSON body must be a list or {"instances": [...]}')
        try:
            array = np.asarray(data, dtype=np.float32)
        except (TypeError, ValueError, OverflowError):
            raise ClientError("instances must be numbers in rows of equal length") from None
        return array
    if kind == NPY:
        raw = body.encode() if isinstance(body, str) else bytes(body)
        try:
            array = np.load(io.BytesIO(raw), allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise ClientError(f"body is not a valid .npy array: {error}") from None
        if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
            raise ClientError(f"NPY array must hold integers or floats, got dtype {array.dtype}")
        return array.astype(np.float32)
    raise ClientError(f"content type {kind!r} is not supported; use {JSON} or {NPY}", 415)


def decode_batch(
    body: bytes | str,
    content_type: str | None,
    *,
    shapes: Sequence[tuple[int, ...]],
    value_range: tuple[float, float] | None = None,
) -> torch.Tensor:
    """A float32 batch whose instances have one of `shapes`, reshaped to `shapes[0]`.

    A single instance without the batch axis is accepted too. Non-finite values, an empty batch
    and values outside `value_range` (inclusive) are client errors.
    """
    array = decode_array(body, content_type)
    batch = None
    for shape in shapes:
        if array.ndim == len(shape) + 1 and tuple(array.shape[1:]) == shape:
            batch = array
        elif array.ndim == len(shape) and tuple(array.shape) == shape:
            batch = array[None, ...]
        if batch is not None:
            break
    if batch is None:
        wanted = " or ".join(str(list(shape)) for shape in shapes)
        raise ClientError(
            f"each instance must have shape {wanted}; got an array of shape {list(array.shape)}"
        )
    if batch.shape[0] == 0:
        raise ClientError("no instances in the request")
    if not np.isfinite(batch).all():
        raise ClientError("instances contain NaN or infinite values")
    if value_range is not None:
        low, high = value_range
        if batch.min() < low or batch.max() > high:
            raise ClientError(f"values must lie between {low:g} and {high:g}")
    batch = batch.reshape((batch.shape[0], *shapes[0]))
    return torch.from_numpy(np.ascontiguousarray(batch))


def encode(array: torch.Tensor, document: Any, accept: str | None) -> tuple[bytes, str]:
    """JSON `document`, or `array` as NPY, as the Accept header asks (JSON by default)."""
    kinds = [media_type(part) for part in (accept or "").split(",") if part.strip()]
    for kind in kinds or [JSON]:
        if kind in (JSON, "*/*", "application/*"):
            return json.dumps(document).encode("utf-8"), JSON
        if kind == NPY:
            buffer = io.BytesIO()
            np.save(buffer, array.detach().cpu().numpy(), allow_pickle=False)
            return buffer.getvalue(), NPY
    raise ClientError(f"accept type {accept!r} is not supported; use {JSON} or {NPY}", 406)
