"""Compare the base and the head bundle's answers to one evaluation set, whatever their shape.

Three readings, each needing less of the response than the next:

- exact agreement: status and body byte for byte, for any content type;
- for JSON responses, every number by its path (`predictions[0].probabilities[3]`): the
  largest moves between base and head;
- with `evaluation.label_path`, the label of each answer: which answers changed, and the
  quality metric against the labels in the evaluation file.

The head must answer every request and carry its labels where the config says: otherwise the
evaluation section does not fit the model, and `EvaluationError` names the file and field. The
base may not (a PR may change the request format): its rejected or unreadable answers count as
wrong and a note says how many.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from configs.evaluation import Case, Evaluation, metric_kind, parse_path
from configs.training import Quality
from ops.evaluation.evaluate import Answer
from ops.evaluation.evaluate import Evaluation as Answers

ROWS = 8  # changed answers and numeric moves listed per model; the counts cover all of them


class EvaluationError(Exception):
    """The evaluation section does not fit the head's model: one line, naming file and field.

    Attributes:
        detail: what the model printed (a traceback from its own code), or "".
    """

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


@dataclass(frozen=True)
class Section:
    """A model's evaluation config, its requests and its bar, with the names for messages.

    Attributes:
        config_file: the model's config.yaml as the reader knows it (for example relative).
    """

    config_file: Path
    evaluation: Evaluation
    cases: tuple[Case, ...]
    quality: Quality | None = None

    def problem(self, field_name: str, message: str, detail: str = "") -> EvaluationError:
        return EvaluationError(f"{self.config_file}: evaluation.{field_name}: {message}", detail)

    @property
    def metric(self) -> str | None:
        """The metric the evaluation reports: quality.metric, or accuracy from bare labels."""
        if self.evaluation.label_path is None or any(c.labels is None for c in self.cases):
            return None
        return self.quality.metric if self.quality else "accuracy"


@dataclass(frozen=True)
class Changed:
    """An answer whose label (or, without labels, whose response) differs from the base's."""

    line: int
    where: str
    base: str
    head: str
    expected: str | None = None


@dataclass(frozen=True)
class Delta:
    """A number in a JSON response that moved between base and head."""

    line: int
    where: str
    base: float
    head: float

    @property
    def size(self) -> float:
        return abs(self.head - self.base)


@dataclass(frozen=True)
class Comparison:
    """What a reviewer reads about one model's answers. Base figures are None without a base.

    Attributes:
        answers: answers compared: labels found in the head's responses, else requests.
        changed: how many of them differ from the base's.
        identical: requests whose base and head responses are byte for byte the same.
    """

    requests: int
    answers: int
    metric: str | None = None
    base_metric: float | None = None
    head_metric: float | None = None
    changed: int = 0
    identical: int = 0
    rows: tuple[Changed, ...] = ()
    deltas: tuple[Delta, ...] = ()
    base_ms: float | None = None
    head_ms: float | None = None
    has_base: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)


# --------------------------------------------------------------------------------------------
# Reading one response.
# --------------------------------------------------------------------------------------------


class MissingPath(Exception):
    """The label path leads nowhere in a response; the message says where it stopped."""


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return f"an object with keys {', '.join(sorted(map(str, value))) or '(none)'}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return f"the value {json.dumps(value)[:40]}"


def walk(document: Any, path: str) -> list[tuple[str, Any]]:
    """Every (concrete path, value) that `path` reaches in a JSON document, in order."""
    found: list[tuple[str, Any]] = [("", document)]
    for kind, argument in parse_path(path):
        reached = []
        for where, value in found:
            here = where or "the response"
            if kind == "key":
                if not isinstance(value, dict) or argument not in value:
                    raise MissingPath(f"no {argument!r} in {here} ({_describe(value)})")
                reached.append((f"{where}.{argument}" if where else str(argument), value[argument]))
            elif not isinstance(value, list):
                raise MissingPath(f"{here} is not a list ({_describe(value)})")
            elif kind == "each":
                reached += [(f"{where}[{i}]", item) for i, item in enumerate(value)]
            elif isinstance(argument, int) and argument < len(value):
                reached.append((f"{where}[{argument}]", value[argument]))
            else:
                raise MissingPath(f"{here} has no element {argument} ({_describe(value)})")
        found = reached
    return found


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def label_text(value: Any, *, argmax: bool) -> str:
    """A label as text (so "3" and 3 match); with `argmax`, the index of the largest score."""
    if argmax:
        if not isinstance(value, list) or not value or not all(map(_is_number, value)):
            raise MissingPath(f"argmax needs a list of numbers, found {_describe(value)}")
        return str(max(range(len(value)), key=lambda i: value[i]))
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        raise MissingPath(f"a label is a string or a number, found {_describe(value)}")
    return json.dumps(value)


def numbers(document: Any, where: str = "") -> dict[str, float]:
    """Every number in a JSON document by its path."""
    if isinstance(document, dict):
        found: dict[str, float] = {}
        for key, value in document.items():
            found.update(numbers(value, f"{where}.{key}" if where else str(key)))
        return found
    if isinstance(document, list):
        found = {}
        for index, value in enumerate(document):
            found.update(numbers(value, f"{where}[{index}]"))
        return found
    return {where: float(document)} if _is_number(document) else {}


def _json(answer: Answer) -> Any:
    try:
        return json.loads(answer.body)
    except (UnicodeDecodeError, ValueError):
        return None


def _ok(answer: Answer) -> bool:
    return 200 <= answer.status < 300


def _message(answer: Answer) -> str:
    text = answer.body.decode("utf-8", "replace").strip().splitlines()
    first = text[0] if text else answer.phrase
    return f"{answer.status} {first[:200]}"


# --------------------------------------------------------------------------------------------
# The head must fit the section; the base is read as far as it goes.
# --------------------------------------------------------------------------------------------


def _head_labels(section: Section, case: Case, answer: Answer) -> list[tuple[str, str]] | None:
    """The head's labels for one request; `EvaluationError` when the section does not fit."""
    name = section.evaluation.file
    if not _ok(answer):
        raise section.problem(
            "file", f"{name} line {case.line}: the head bundle rejected the request: "
            f"{_message(answer)}",
        )  # fmt: skip
    path = section.evaluation.label_path
    if path is None:
        return None
    try:
        argmax = section.evaluation.label_from == "argmax"
        labels = [(w, label_text(v, argmax=argmax)) for w, v in walk(_json(answer), path)]
    except MissingPath as missing:
        raise section.problem(
            "label_path", f"{path!r} is not in the head bundle's response to {name} line "
            f"{case.line}: {missing}",
        ) from None  # fmt: skip
    if case.labels is not None and len(case.labels) != len(labels):
        raise section.problem(
            "file", f"{name} line {case.line}: {len(case.labels)} label(s) for "
            f"{len(labels)} answer(s) at {path!r}; give one label per answer",
        )  # fmt: skip
    return labels


def _base_labels(section: Section, answer: Answer) -> list[str] | None:
    path = section.evaluation.label_path
    if path is None or not _ok(answer):
        return None
    try:
        argmax = section.evaluation.label_from == "argmax"
        return [label_text(v, argmax=argmax) for _, v in walk(_json(answer), path)]
    except MissingPath:
        return None


def _score(section: Section, labels: Sequence[Sequence[str] | None]) -> float | None:
    """The metric over every answer; a missing answer counts as wrong."""
    metric = section.metric
    if metric is None:
        return None
    right = total = 0
    for case, found in zip(section.cases, labels, strict=True):
        expected = [str(label) for label in case.labels or ()]
        total += len(expected)
        if found is not None:
            right += sum(a == b for a, b in zip(found, expected, strict=False))
    accuracy = right / total if total else 0.0
    return 1.0 - accuracy if metric_kind(metric) == "error_rate" else accuracy


def _head_only(section: Section, head: Answers) -> Comparison:
    labels = [_head_labels(section, c, a) for c, a in zip(section.cases, head.answers, strict=True)]
    found = [None if ls is None else [text for _, text in ls] for ls in labels]
    answers = sum(len(ls) for ls in labels if ls is not None) or len(section.cases)
    return Comparison(
        requests=len(section.cases),
        answers=answers,
        metric=section.metric,
        head_metric=_score(section, found),
        head_ms=head.median_ms,
    )


def _moves(line: int, base: Answer, head: Answer) -> list[Delta]:
    before, after = _json(base), _json(head)
    if before is None or after is None:
        return []
    old, new = numbers(before), numbers(after)
    return [
        Delta(line, where, old[where], new[where])
        for where in old.keys() & new.keys()
        if old[where] != new[where]
    ]


def _label_rows(case: Case, head: list[tuple[str, str]], base: list[str] | None) -> list[Changed]:
    rows = []
    for index, (where, text) in enumerate(head):
        before = base[index] if base is not None and index < len(base) else "(none)"
        if before != text:
            expected = str(case.labels[index]) if case.labels else None
            rows.append(Changed(case.line, where, before, text, expected))
    return rows


def _whole_row(case: Case, base: Answer, head: Answer) -> Changed:
    def shown(answer: Answer) -> str:
        text = answer.body.decode("utf-8", "replace")
        return text if len(text) <= 60 else text[:57] + "..."

    return Changed(case.line, "response", shown(base), shown(head))


def _worse_first(rows: list[Changed]) -> list[Changed]:
    """Answers the head now gets wrong first, then those it now gets right, then the rest."""

    def rank(row: Changed) -> int:
        if row.expected is None:
            return 2
        return 0 if row.base == row.expected else 1 if row.head == row.expected else 2

    return sorted(rows, key=rank)


def compare(section: Section, *, base: Answers | None, head: Answers) -> Comparison:
    """Compare the head's answers with the base's (None: the model is new).

    Raises:
        EvaluationError: the head's model did not load, rejected a request, or its responses
            lack the label path or carry another number of labels than the file gives.
    """
    if head.error is not None:
        first, _, rest = head.error.partition("\n")
        raise EvaluationError(f"{section.config_file}: the head bundle: {first}", rest)
    if base is None:
        return _head_only(section, head)
    if base.error is not None:
        note = f"base not evaluated: {base.error.splitlines()[0]}"
        return replace(_head_only(section, head), notes=(note,))
    notes = []
    rows: list[Changed] = []
    deltas: list[Delta] = []
    found: list[list[str] | None] = []
    found_base: list[list[str] | None] = []
    identical = answers = rejected = unreadable = 0
    for case, old, new in zip(section.cases, base.answers, head.answers, strict=True):
        labels = _head_labels(section, case, new)
        before = _base_labels(section, old)
        identical += (old.status, old.body) == (new.status, new.body)
        rejected += not _ok(old)
        unreadable += _ok(old) and labels is not None and before is None
        deltas += _moves(case.line, old, new)
        found_base.append(before)
        if labels is None:
            found.append(None)
            answers += 1
            if (old.status, old.body) != (new.status, new.body):
                rows.append(_whole_row(case, old, new))
            continue
        found.append([text for _, text in labels])
        answers += len(labels)
        rows += _label_rows(case, labels, before)
    if rejected:
        notes.append(f"the base bundle rejected {rejected} request(s); they count as wrong")
    if unreadable:
        notes.append(f"{unreadable} base response(s) lack {section.evaluation.label_path!r}")
    deltas.sort(key=lambda d: (-d.size, d.line, d.where))
    return Comparison(
        requests=len(section.cases),
        answers=answers,
        metric=section.metric,
        base_metric=_score(section, found_base),
        head_metric=_score(section, found),
        changed=len(rows),
        identical=identical,
        rows=tuple(_worse_first(rows)[:ROWS]),
        deltas=tuple(deltas[:ROWS]),
        base_ms=base.median_ms,
        head_ms=head.median_ms,
        has_base=True,
        notes=tuple(notes),
    )


def gate_failures(quality: Quality | None, comparison: Comparison) -> list[str]:
    """Why the head may not merge without the `allow-regression` label ([] when it may)."""
    head, base = comparison.head_metric, comparison.base_metric
    if quality is None or head is None:
        return []
    failures = []
    bar = "at least" if quality.greater_is_better else "at most"
    if not quality.passes(head):
        failures.append(f"{quality.metric} {head:.4g} misses the bar ({bar} {quality.threshold:g})")
    if base is not None and quality.regressed(base=base, head=head):
        failures.append(
            f"{quality.metric} {base:.4g} → {head:.4g}: a drop of {abs(head - base):.4g}, more "
            f"than the {quality.max_regression:g} allowed (quality.max_regression)"
        )
    return failures
