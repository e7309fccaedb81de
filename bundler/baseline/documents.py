"""Byte-reproducible JSON for the baseline and violation documents.

Keys are sorted, floats are written with 12 significant digits (the same document gives the same
bytes on any machine, and a last-bit difference in a computed float does not change a file), and
NaN or infinity is refused: Model Monitor's files are plain JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SIGNIFICANT_DIGITS = 12


def canonical(document: Any) -> Any:
    """`document` with every float rounded to the fixed precision, containers rebuilt."""
    if isinstance(document, bool) or document is None or isinstance(document, int | str):
        return document
    if isinstance(document, float):
        return float(format(document, f".{SIGNIFICANT_DIGITS}g"))
    if isinstance(document, dict):
        return {str(key): canonical(value) for key, value in document.items()}
    if isinstance(document, list | tuple):
        return [canonical(value) for value in document]
    raise TypeError(f"not a JSON value: {type(document).__name__}")


def dumps(document: Any) -> bytes:
    """The document's bytes: canonical floats, sorted keys, two-space indent, final newline."""
    text = json.dumps(
        canonical(document), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False
    )
    return (text + "\n").encode("utf-8")


def write(document: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(dumps(document))


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


SCHEMAS = Path(__file__).resolve().parent / "schemas"


def schema(name: str) -> Any:
    """The JSON Schema of a documented format: statistics, constraints, constraint_violations."""
    return load(SCHEMAS / f"{name}.schema.json")
