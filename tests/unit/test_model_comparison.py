"""Comparing two bundles' answers without assuming one response shape, the regression gate, and
the model section's Markdown (within the comment's size cap, however many models change)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from configs.evaluation import Case, Evaluation
from configs.training import Quality
from ops.diff.changes import Report, StackChange
from ops.diff.command import EXIT_BOTH, EXIT_DESTRUCTIVE, EXIT_REGRESSION, _status
from ops.diff.describe import Deployed
from ops.diff.engine import EngineResult
from ops.diff.markdown import MARKER, render
from ops.diff.model_markdown import HEADING, model_section
from ops.diff.models import Bundle, ModelChange, ModelReport, changed_hyperparameters
from ops.evaluation.compare import (
    EvaluationError,
    Section,
    compare,
    gate_failures,
    label_text,
    numbers,
    walk,
)
from ops.evaluation.evaluate import Answer
from ops.evaluation.evaluate import Evaluation as Answers

CONFIG = Path("models/iris/config.yaml")
QUALITY = Quality(metric="test_accuracy", threshold=0.5, max_regression=0.1)


def answers(*bodies: Any, status: int = 200, ms: float = 1.0) -> Answers:
    return Answers(
        answers=tuple(
            Answer(status, "application/json", json.dumps(body).encode(), ms / 1000)
            for body in bodies
        )
    )


def predictions(*labels: str) -> dict[str, Any]:
    return {"predictions": [{"label": x, "probabilities": [0.5, 0.5]} for x in labels]}


def section(labels: list[list[Any]] | None, **evaluation: Any) -> Section:
    settings = {"file": "evaluation.jsonl", "label_path": "predictions[*].label", **evaluation}
    cases = tuple(
        Case(line, b"{}", None if labels is None else tuple(labels[line - 1]))
        for line in range(1, 1 + (len(labels) if labels is not None else 2))
    )
    return Section(CONFIG, Evaluation(**settings), cases, QUALITY)


def test_walk_follows_keys_lists_and_indexes() -> None:
    document = {"predictions": [{"label": "a"}, {"label": "b"}]}
    assert walk(document, "predictions[*].label") == [
        ("predictions[0].label", "a"),
        ("predictions[1].label", "b"),
    ]
    assert walk([[0.1, 0.9]], "[0]") == [("[0]", [0.1, 0.9])]
    assert label_text([0.1, 0.7, 0.2], argmax=True) == "1"
    assert label_text(3, argmax=False) == "3"
    assert numbers({"a": [1, {"b": 2.5}], "c": "x", "d": True}) == {"a[0]": 1.0, "a[1].b": 2.5}


def test_changed_labels_the_metric_and_the_largest_moves() -> None:
    cases = section([["a"], ["a", "b"]])
    base = answers(predictions("a"), predictions("a", "a"), ms=2.0)
    head_two = predictions("b", "b")
    head_two["predictions"][1]["probabilities"] = [0.1, 0.9]
    head = answers(predictions("a"), head_two, ms=3.0)
    found = compare(cases, base=base, head=head)
    assert (found.requests, found.answers, found.changed, found.identical) == (2, 3, 2, 1)
    assert found.base_metric == pytest.approx(2 / 3) and found.head_metric == pytest.approx(2 / 3)
    # The answer the head now gets wrong is listed first.
    assert [(r.line, r.where, r.base, r.head, r.expected) for r in found.rows] == [
        (2, "predictions[0].label", "a", "b", "a"),
        (2, "predictions[1].label", "a", "b", "b"),
    ]
    assert [(d.where, d.base, d.head) for d in found.deltas] == [
        ("predictions[1].probabilities[0]", 0.5, 0.1),
        ("predictions[1].probabilities[1]", 0.5, 0.9),
    ]
    assert found.base_ms == pytest.approx(2.0) and found.head_ms == pytest.approx(3.0)


def test_a_plain_list_with_argmax_labels() -> None:
    """The toolkit's default output_fn: a bare JSON list of class scores, no `predictions`."""
    cases = section([[0, 1], [1, 1]], label_path="[*]", label_from="argmax")
    base = answers([[0.9, 0.1], [0.2, 0.8]], [[0.3, 0.7], [0.4, 0.6]])
    head = answers([[0.9, 0.1], [0.6, 0.4]], [[0.3, 0.7], [0.4, 0.6]])
    found = compare(cases, base=base, head=head)
    assert found.base_metric == 1.0 and found.head_metric == 0.75
    assert [(r.line, r.where, r.base, r.head) for r in found.rows] == [(1, "[1]", "1", "0")]
    assert {d.where for d in found.deltas} == {"[1][0]", "[1][1]"}
    assert found.identical == 1


def test_without_labels_answers_are_compared_whole() -> None:
    cases = section(None, label_path=None)
    found = compare(
        Section(CONFIG, cases.evaluation, cases.cases, None),
        base=answers({"x": 1}, {"y": "same"}),
        head=answers({"x": 2}, {"y": "same"}),
    )
    assert found.metric is None and found.head_metric is None
    assert (found.answers, found.changed, found.identical) == (2, 1, 1)
    assert found.rows[0].where == "response" and found.deltas[0].where == "x"


def test_a_new_model_shows_head_figures_only() -> None:
    found = compare(
        section([["a"], ["b"]]),
        base=None,
        head=answers(predictions("a"), {"predictions": [{"label": "a"}]}),
    )
    assert not found.has_base and found.base_metric is None and found.head_metric == 0.5


def test_the_head_rejecting_a_request_names_the_file_and_line() -> None:
    head = Answers(
        answers=(
            Answer(200, "application/json", json.dumps(predictions("a")).encode(), 0.001),
            Answer(400, "application/json", b'{"error": {"message": "bad shape"}}', 0.001),
        )
    )
    with pytest.raises(EvaluationError) as caught:
        compare(section([["a"], ["a"]]), base=None, head=head)
    message = str(caught.value)
    assert message.startswith("models/iris/config.yaml: evaluation.file: evaluation.jsonl line 2")
    assert "rejected the request: 400" in message and "bad shape" in message
    assert "\n" not in message


def test_a_label_path_missing_from_the_response_names_the_field() -> None:
    with pytest.raises(EvaluationError) as caught:
        compare(section([["a"], ["a"]]), base=None, head=answers({"outputs": []}, {"outputs": []}))
    message = str(caught.value)
    assert message.startswith("models/iris/config.yaml: evaluation.label_path:")
    assert "no 'predictions' in the response (an object with keys outputs)" in message


def test_labels_must_match_the_answers_in_number() -> None:
    with pytest.raises(EvaluationError, match=r"line 1: 2 label\(s\) for 1 answer"):
        compare(
            section([["a", "b"], ["a"]]),
            base=None,
            head=answers(predictions("a"), predictions("a")),
        )


def test_a_base_that_rejects_the_new_format_counts_as_wrong() -> None:
    base = Answers(
        answers=(
            Answer(400, "application/json", b"{}", 0.001),
            Answer(200, "application/json", json.dumps(predictions("a")).encode(), 0.001),
        )
    )
    found = compare(
        section([["a"], ["a"]]), base=base, head=answers(predictions("a"), predictions("a"))
    )
    assert found.base_metric == 0.5 and found.head_metric == 1.0
    assert "the base bundle rejected 1 request(s); they count as wrong" in found.notes


def test_a_base_that_does_not_load_leaves_head_figures_and_a_note() -> None:
    found = compare(
        section([["a"], ["a"]]),
        base=Answers(error="the model did not load: boom\ntrace"),
        head=answers(predictions("a"), predictions("a")),
    )
    assert found.base_metric is None and found.notes == (
        "base not evaluated: the model did not load: boom",
    )


def test_the_gate_fails_below_the_bar_or_behind_the_base() -> None:
    cases = section([["a"], ["a"], ["a"], ["a"]])
    good = answers(*[predictions("a")] * 4)
    three = answers(*[predictions("a")] * 3, predictions("b"))
    assert gate_failures(QUALITY, compare(cases, base=good, head=good)) == []
    behind = gate_failures(QUALITY, compare(cases, base=good, head=three))
    assert len(behind) == 1 and "a drop of 0.25, more than the 0.1 allowed" in behind[0]
    worse = answers(*[predictions("b")] * 4)
    found = gate_failures(QUALITY, compare(cases, base=good, head=worse))
    assert "misses the bar (at least 0.5)" in found[0] and len(found) == 2
    assert gate_failures(QUALITY, compare(cases, base=None, head=three)) == []


@pytest.mark.parametrize(
    ("destructive", "regression", "flags", "status"),
    [
        (True, True, (True, True), EXIT_BOTH),
        (True, False, (True, True), EXIT_DESTRUCTIVE),
        (False, True, (True, True), EXIT_REGRESSION),
        (True, True, (False, False), 0),
        (False, True, (True, False), 0),
    ],
)
def test_exit_statuses(
    destructive: bool, regression: bool, flags: tuple[bool, bool], status: int
) -> None:
    class Args:
        fail_on_destructive, fail_on_regression = flags

    assert _status(Args(), destructive=destructive, regression=regression) == status  # type: ignore[arg-type]


def test_hyperparameters_that_changed() -> None:
    assert changed_hyperparameters(
        {"epochs": "40", "lr": "0.01"}, {"epochs": "60", "seed": "7"}
    ) == (
        ("epochs", "40", "60"),
        ("lr", "0.01", None),
        ("seed", None, "7"),
    )


# --------------------------------------------------------------------------------------------
# Markdown.
# --------------------------------------------------------------------------------------------


def model_change(name: str, *, failing: bool = False, base: bool = True) -> ModelChange:
    cases = section([["a"]] * 20)
    head_bodies = [predictions("b" if failing else "a")] * 20
    comparison = compare(
        cases, base=answers(*[predictions("a")] * 20) if base else None, head=answers(*head_bodies)
    )
    return ModelChange(
        model=name,
        base=Bundle("a" * 64, 20_000, "inference.py", None) if base else None,
        head=Bundle("b" * 64, 21_000, "inference.py", None),
        hyperparameters=(("epochs", "40", "60"),),
        comparison=comparison,
        failures=tuple(gate_failures(QUALITY, comparison)),
        threshold="≥ 0.5",
    )


def stack_change(model: str) -> StackChange:
    engine = EngineResult(False, (), (), (), False, False, False, "x" * 2000, "")
    deployed = Deployed(model=model, sha256="a" * 64)
    changed = Deployed(model=model, sha256="b" * 64)
    return StackChange(
        f"Staging-{model}", deployed, changed, engine, (), ("new model version",), model
    )


def test_the_section_shows_base_and_head_side_by_side() -> None:
    lines = "\n".join(model_section(ModelReport((model_change("iris", failing=True),))))
    assert lines.startswith(HEADING)
    assert "| test_accuracy on 20 evaluation answers, bar ≥ 0.5 | 1 | **0** ⛔ |" in lines
    assert "| answers changed | | 20 of 20 (0 of 20 responses identical) |" in lines
    assert "| latency per request, median (indicative) | 1.00 ms | 1.00 ms |" in lines
    assert "| hyperparameter `epochs` | 40 | 60 |" in lines
    assert "<details><summary>20 changed answer(s)" in lines


def test_a_new_model_has_no_base_column_figures() -> None:
    lines = "\n".join(model_section(ModelReport((model_change("fresh", base=False),))))
    assert "#### `fresh`: new model" in lines and "| bundle | - |" in lines
    assert "answers changed" not in lines


def test_the_regression_callout_and_the_size_cap_with_many_models() -> None:
    names = [f"model{i:03d}" for i in range(400)]
    report = Report(tuple(stack_change(name) for name in names))
    models = ModelReport(
        tuple(model_change(name, failing=i % 2 == 0) for i, name in enumerate(names))
    )
    limit = 60_000
    markdown = render(report, limit=limit, models=models)
    assert len(markdown) <= limit
    assert markdown.startswith(MARKER)
    assert "> [!CAUTION]\n> **Model quality below the bar or regressed:**" in markdown
    assert HEADING in markdown
    # The collapsed rows go before the model tables do.
    assert "<details><summary>20 changed answer(s)" not in markdown
    few = render(
        Report(tuple(stack_change(n) for n in names[:2])),
        limit=limit,
        models=ModelReport(models.models[:2]),
    )
    assert "<details><summary>20 changed answer(s)" in few and len(few) <= limit


def test_without_a_model_section_the_comment_is_unchanged() -> None:
    report = Report((stack_change("iris"),))
    assert render(report) == render(report, models=None) == render(report, models=ModelReport(()))


def test_only_bundles_built_at_synth_are_evaluated() -> None:
    from ops.diff.models import _jobs

    cases = section([["a"]])
    built = Bundle("b" * 64, 1, "inference.py", Path("asset.b.tar.gz"))
    registry = Bundle("a" * 64, 0, "inference.py", None)
    assert [job.bundle for job in _jobs(cases, built, built)] == [built.archive] * 2
    assert [job.bundle for job in _jobs(cases, registry, built)] == [built.archive]
    assert _jobs(cases, built, registry) == []
