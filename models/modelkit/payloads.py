"""Request and response bodies for the serving handlers: JSON and NPY, with client errors.

A malformed or wrong-shaped request raises `ClientError`, which SageMaker's inference toolkit
turns into a 4xx response with the message, not a 500 with a traceback.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import torch

JSON = "application/json"
NPY = "application/x-npy"

try:  # inside the serving container (and wherever the toolkit is installed)
    from sagemaker_inference.errors import BaseInferenceToolkitError as _ToolkitError
except ImportError:  # pragma: no cover - plain Python, for tests and local scripts

    class _ToolkitError(Exception):  # type: ignore[no-redef]
        def __init__(self, status_code: int, message: str, phrase: str) -> None:
            self.status_code = status_code
            self.message = message
            self.phrase = phrase
            super().__init__(status_code, message, phrase)


class ClientError(_ToolkitError):
    """The request is wrong; the status says how (400 bad body, 415 unsupported type)."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        phrase = "Unsupported Media Type" if status_code == 415 else "Bad Request"
        super().__init__(status_code, message, phrase)

    def __str__(self) -> str:
        return f"{self.status_code} {self.phrase}: {self.message}"


def _media_type(content_type: str | None) -> str:
    return (content_type or JSON).split(";")[0].strip().lower()


def decode_matrix(
    body: bytes | str,
    content_type: str | None,
    *,
    columns: int | None = None,
    shape: tuple[int, ...] | None = None,
) -> torch.Tensor:
    """A float32 batch from a JSON or NPY body; rows are checked against `columns` or `shape`.

    JSON may be `{"instances": [...]}` or a bare list.
    """
    kind = _media_type(content_type)
    if kind == JSON:
        try:
            text = body.decode("utf-8") if isinstance(body, bytes | bytearray) else body
            data: Any = json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ClientError(f"body is not valid JSON: {error}") from error
        if isinstance(data, dict):
            if "instances" not in data:
                raise ClientError('JSON body must be a list or {"instances": [...]}')
            data = data["instances"]
        try:
            array = np.asarray(data, dtype=np.float32)
        except (TypeError, ValueError) as error:
            raise ClientError(f"instances must be numbers in equal-length rows: {error}") from error
    elif kind == NPY:
        raw = body.encode() if isinstance(body, str) else bytes(body)
        try:
            array = np.load(io.BytesIO(raw), allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise ClientError(f"body is not a valid .npy array: {error}") from error
        if not np.issubdtype(array.dtype, np.number):
            raise ClientError(f"NPY array must be numeric, got dtype {array.dtype}")
        array = array.astype(np.float32)
    else:
        raise ClientError(f"content type {kind!r} is not supported; use {JSON} or {NPY}", 415)

    expected = (columns,) if columns is not None else shape
    if expected is not None:
        if array.ndim == len(expected):  # one instance without the batch axis
            array = array[None, ...]
        if array.ndim != len(expected) + 1 or tuple(array.shape[1:]) != tuple(expected):
            raise ClientError(
                f"expected instances of shape {list(expected)}, got an array of shape "
                f"{list(array.shape)}"
            )
    if array.shape[0] == 0:
        raise ClientError("no instances in the request")
    if not np.isfinite(array).all():
        raise ClientError("instances contain NaN or infinite values")
    return torch.from_numpy(np.ascontiguousarray(array))


def encode(array: torch.Tensor, document: Any, accept: str | None) -> tuple[bytes, str]:
    """JSON `document`, or `array` as NPY, as the Accept header asks."""
    kind = _media_type(accept) if accept and accept != "*/*" else JSON
    if kind == JSON:
        return json.dumps(document).encode("utf-8"), JSON
    if kind == NPY:
        buffer = io.BytesIO()
        np.save(buffer, array.detach().cpu().numpy(), allow_pickle=False)
        return buffer.getvalue(), NPY
    raise ClientError(f"accept type {kind!r} is not supported; use {JSON} or {NPY}", 415)
