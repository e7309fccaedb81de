"""The model section of the PR diff: for each model whose bundle changed, how its answers change.

Bundles come from the two cloud assemblies (`Metadata.ModelBundle` names each one's sha256 and
size, the assembly holds `asset.<sha256>.tar.gz`); the evaluation set and the quality bar come
from the head's source tree, so both bundles answer the same requests and the head's bar
judges both; the training hyperparameters come from each side's `config.yaml`. A model whose
bundle is the same on both sides is not evaluated; its base and head bundles are evaluated side
by side, each in its own fresh process (`ops.evaluation`), unless the same pair was evaluated
before and kept in the evaluation cache (`ops.evaluation.cache`).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from configs.evaluation import SetError, read_set
from configs.loader import MODEL_CONFIG, ModelSource, load_project
from ops.evaluation.cache import cached
from ops.evaluation.compare import (
    Comparison,
    EvaluationError,
    Section,
    compare,
    gate_failures,
)
from ops.evaluation.evaluate import Job, Request, side_by_side
from ops.runs.weights import TrainedBy
from ops.serve import entry_point
from ops.serving import SERVE_VENV
from stacks.templates import read_assembly

Hyperparameter = tuple[str, str | None, str | None]  # name, base value, head value


@dataclass(frozen=True)
class Bundle:
    """A model's bundle in one assembly: digest, size, handler module and where it lies."""

    sha256: str
    size: int
    program: str
    archive: Path | None  # None: not built at synth (artifact.source s3 or registry)


@dataclass(frozen=True)
class ModelChange:
    """One changed model as the comment shows it.

    Attributes:
        base: the base's bundle; None for a new model folder.
        comparison: the evaluation, None when the model has no evaluation set or was not
            evaluated (`note` says why).
        failures: why the regression gate holds this model back ([] when it does not).
        metric: the held-out quality metric the model's config names ("" without one).
        base_run, head_run: the MLflow run behind that side's weights, or why none is named
            (text); None when runs were not looked up (`ops.diff.training_runs`).
    """

    model: str
    base: Bundle | None
    head: Bundle
    hyperparameters: tuple[Hyperparameter, ...] = ()
    comparison: Comparison | None = None
    failures: tuple[str, ...] = ()
    note: str = ""
    threshold: str = ""  # the bar in words, for example "≥ 0.97"
    metric: str = ""
    base_run: TrainedBy | str | None = None
    head_run: TrainedBy | str | None = None

    @property
    def bundle_changed(self) -> bool:
        return self.base is None or self.base.sha256 != self.head.sha256


@dataclass(frozen=True)
class ModelReport:
    models: tuple[ModelChange, ...]
    seconds: float = 0.0  # spent evaluating
    runs_note: str = ""  # where the training runs were looked up, or why they were not

    @property
    def regressions(self) -> tuple[str, ...]:
        return tuple(f"`{m.model}`: {failure}" for m in self.models for failure in m.failures)


def bundles(assembly: Path) -> dict[str, Bundle]:
    """Each model's bundle in a cloud assembly (every environment ships the same one)."""
    found: dict[str, Bundle] = {}
    for stack in sorted(read_assembly(assembly), key=lambda s: s.name):
        record = stack.bundle
        if record is None or record.model in found:
            continue
        archive = assembly / f"asset.{record.sha256}.tar.gz"
        folder = assembly / f"asset.{record.sha256}"
        where = archive if archive.is_file() else folder if folder.is_dir() else None
        found[record.model] = Bundle(record.sha256, record.bytes, entry_point(stack), where)
    return found


# libyaml's safe loader where PyYAML has it: every model's file is read, 100 in a large repo.
_YAML: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def hyperparameters(project: Path | None) -> dict[str, dict[str, str]]:
    """Each model's `training.hyperparameters` as its config.yaml writes them.

    Read as plain YAML, not through the config models: the base's files were written for the
    base's code, which may know fields the head's does not.
    """
    found: dict[str, dict[str, str]] = {}
    if project is None:
        return found
    for path in sorted((project / "models").glob(f"*/{MODEL_CONFIG}")):
        try:
            text = path.read_text(encoding="utf-8")
            data: Any = yaml.load(text, Loader=_YAML) or {}  # noqa: S506 (_YAML is a safe loader)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if not isinstance(data, dict):
            continue
        training = data.get("training")
        values = training.get("hyperparameters") if isinstance(training, dict) else None
        name = data.get("name") if isinstance(data.get("name"), str) else path.parent.name
        found[str(name)] = (
            {str(k): str(v) for k, v in values.items()} if isinstance(values, dict) else {}
        )
    return found


def changed_hyperparameters(
    base: dict[str, str], head: dict[str, str]
) -> tuple[Hyperparameter, ...]:
    return tuple(
        (name, base.get(name), head.get(name))
        for name in sorted(set(base) | set(head))
        if base.get(name) != head.get(name)
    )


def _section(source: ModelSource, root: Path) -> Section | None:
    evaluation = source.file.evaluation
    if evaluation is None:
        return None
    config = source.folder / MODEL_CONFIG
    shown = config.relative_to(root) if config.is_relative_to(root) else config
    try:
        cases = read_set(source.folder / evaluation.file, content_type=evaluation.content_type)
    except SetError as error:  # changed since the configs loaded
        raise EvaluationError(f"{shown}: evaluation.file: {evaluation.file} {error}") from None
    return Section(shown, evaluation, cases.cases, source.file.quality)


def _metric(source: ModelSource | None) -> str:
    quality = source.file.quality if source else None
    return quality.metric if quality is not None else ""


def _threshold(source: ModelSource | None) -> str:
    quality = source.file.quality if source else None
    if quality is None:
        return ""
    return f"{'≥' if quality.greater_is_better else '≤'} {quality.threshold:g}"


def _jobs(section: Section, base: Bundle | None, head: Bundle) -> list[Job]:
    requests = tuple(
        Request(case.body, section.evaluation.content_type, section.evaluation.accept)
        for case in section.cases
    )
    if head.archive is None:
        return []
    sides = [base, head] if base is not None and base.archive is not None else [head]
    return [Job(side.archive, side.program, requests) for side in sides if side.archive]


def model_changes(
    *,
    base: Path,
    head: Path,
    project: Path,
    base_project: Path | None = None,
    venv: Path = SERVE_VENV,
    cache: Path | None = None,
) -> ModelReport:
    """Every model that changed between two assemblies, evaluated where it has a set (or its
    evaluation taken from `cache`, a folder, when the same bundles were evaluated before).

    Raises:
        ConfigError: the head's configs do not load.
        EvaluationError: a head bundle does not fit its evaluation section.
        ServeError: the serving environment is missing.
    """
    sources = load_project(project).models
    before, after = bundles(base), bundles(head)
    base_hps, head_hps = hyperparameters(base_project), hyperparameters(project)
    planned: list[tuple[ModelChange, Section | None, list[Job]]] = []
    for name, bundle in sorted(after.items()):
        old = before.get(name)
        hps = changed_hyperparameters(base_hps.get(name, {}), head_hps.get(name, {}))
        hps = hps if base_project is not None else ()
        source = sources.get(name)
        change = ModelChange(
            name, old, bundle, hps, threshold=_threshold(source), metric=_metric(source)
        )
        if not change.bundle_changed and not hps:
            continue
        section = _section(source, project) if source and change.bundle_changed else None
        jobs = _jobs(section, old, bundle) if section else []
        if source and source.file.evaluation is None:
            change = replace(change, note="no evaluation set: add an `evaluation` section")
        elif change.bundle_changed and section and bundle.archive is None:
            change = replace(change, note="not evaluated: the bundle is not built at synth")
        planned.append((change, section, jobs))
    started = time.perf_counter()
    models = []
    for change, section, jobs in planned:  # one model at a time: a misfit stops the diff early
        if section is None or not jobs:
            models.append(change)
            continue
        evaluate = functools.partial(side_by_side, jobs, venv=venv)
        answers, _ = cached(jobs, venv=venv, directory=cache, evaluate=evaluate)
        base_answers = answers[0] if len(answers) == 2 else None
        comparison = compare(section, base=base_answers, head=answers[-1])
        failures = tuple(gate_failures(section.quality, comparison))
        models.append(replace(change, comparison=comparison, failures=failures))
    return ModelReport(tuple(models), time.perf_counter() - started)
