"""Tabular data as Model Monitor's analyzer sees it: named columns of typed values.

A baseline is computed from a CSV file in the model folder (the training inputs, with a header
row naming the features); a monitoring run computes the same statistics from captured requests.
Both go through `Dataset`, so the two sides parse values the same way:

- an empty cell, JSON null or a NaN is a missing value (it counts against completeness);
- a whole number (`3`, JSON `3`) is an integer, any other finite number (`5.1`, `1e-3`) a float;
- anything else (words, `inf`, booleans, nested JSON) is a string.

A CSV cell and a JSON string are parsed alike: `"5.1"` and `5.1` are the same number, as a
capture in text/csv and one in application/json of the same request should be.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

Value = int | float | str | None


class BaselineError(ValueError):
    """Data that cannot be turned into statistics; the message names the file and the fix."""


@dataclass(frozen=True)
class Column:
    """One feature: its name and one parsed value per row (None where missing)."""

    name: str
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Dataset:
    """Named columns of equal length, in the order the data declares them."""

    columns: tuple[Column, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def item_count(self) -> int:
        return len(self.columns[0].values) if self.columns else 0

    @classmethod
    def from_rows(cls, *, names: Sequence[str], rows: Iterable[Sequence[object]]) -> Dataset:
        """Rows of positional values, `names` giving each position's feature.

        A row shorter than `names` is missing its last values; a longer one is an error, since
        the extra values have no feature to belong to.
        """
        _check_names(names, source="names")
        cells: list[list[Value]] = [[] for _ in names]
        for number, row in enumerate(rows, start=1):
            if len(row) > len(names):
                raise BaselineError(
                    f"row {number}: {len(row)} values for {len(names)} features; "
                    "fix: give one name per value"
                )
            for index in range(len(names)):
                cells[index].append(parse(row[index]) if index < len(row) else None)
        return cls(tuple(Column(n, tuple(v)) for n, v in zip(names, cells, strict=True)))

    @classmethod
    def from_records(
        cls, records: Iterable[Mapping[str, object]], *, names: Sequence[str] | None = None
    ) -> Dataset:
        """Rows as mappings from feature name to value (JSON objects, say).

        Without `names` the columns are every key seen, in order of first appearance; a key a
        record lacks is a missing value in that row.
        """
        rows = list(records)
        if names is None:
            seen: dict[str, None] = {}
            for record in rows:
                seen.update(dict.fromkeys(record))
            names = tuple(seen)
        return cls.from_rows(names=names, rows=[[r.get(n) for n in names] for r in rows])

    def select(self, features: Sequence[str], *, source: str = "data") -> Dataset:
        """Only `features`, in that order; an unknown name is an error naming the columns."""
        by_name = {column.name: column for column in self.columns}
        unknown = [name for name in features if name not in by_name]
        if unknown:
            raise BaselineError(
                f"{source}: no column {', '.join(map(repr, unknown))}; "
                f"the columns are {', '.join(self.names)}; fix: name features from the header row"
            )
        return Dataset(tuple(by_name[name] for name in features))


def read_csv(path: Path, *, features: Sequence[str] | None = None) -> Dataset:
    """A CSV file (optionally gzipped) whose first row names the columns."""
    try:
        raw = path.read_bytes()
        text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8")
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError) as error:
        raise BaselineError(f"{path}: cannot read ({error}); fix: give a UTF-8 CSV file") from None
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        raise BaselineError(f"{path}: empty; fix: a header row naming the features, then data")
    header, body = rows[0], [row for row in rows[1:] if row]
    _check_names(header, source=str(path))
    if not body:
        raise BaselineError(f"{path}: a header and no rows; fix: add the training rows")
    try:
        dataset = Dataset.from_rows(names=header, rows=body)
    except BaselineError as error:
        raise BaselineError(f"{path}: {error}") from None
    return dataset.select(features, source=str(path)) if features else dataset


def parse(value: object) -> Value:
    """One cell or JSON value, typed as the analyzer types it (see the module docstring)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else (value if math.isfinite(value) else str(value))
    if isinstance(value, str):
        return _parse_text(value)
    return json.dumps(value, sort_keys=True)


def _parse_text(text: str) -> Value:
    stripped = text.strip()
    if not stripped:
        return None
    try:
        return int(stripped)
    except ValueError:
        pass
    try:
        number = float(stripped)
    except ValueError:
        return text
    if math.isnan(number):
        return None
    return number if math.isfinite(number) else text


def _check_names(names: Sequence[str], *, source: str) -> None:
    blank = [i for i, name in enumerate(names, start=1) if not str(name).strip()]
    if blank:
        raise BaselineError(
            f"{source}: column {blank[0]} has no name; fix: name every column in the header row"
        )
    duplicates = sorted({name for name in names if list(names).count(name) > 1})
    if duplicates:
        raise BaselineError(
            f"{source}: column {duplicates[0]!r} named twice; fix: give each column its own name"
        )
