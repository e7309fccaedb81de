"""The evaluation answers as the served path does: for each example model's synthesized bundle,
every request of its evaluation set, its example and requests the handlers reject get the same
status, content type and body from `ops.evaluation` (TorchServe's worker code in one process)
as from `ops.serving` (TorchServe itself, over HTTP)."""

from __future__ import annotations

import pytest

from configs.evaluation import read_set
from ops import serving
from ops.evaluation.evaluate import Job, Request, side_by_side
from tests.conftest import ROOT, Synthesized
from tests.model_support import MODELS, example

JSON = "application/json"
NPY = "application/x-npy"
REJECTED = [
    (b'{"instances": [[1, 2, 3]]}', JSON, JSON),
    (b"not json", JSON, JSON),
    (b"1,2,3,4", "text/csv", JSON),
]


@pytest.fixture(scope="module", autouse=True)
def serving_environment() -> None:
    if not (serving.SERVE_VENV / "bin" / "torchserve").is_file():
        pytest.fail(f"{serving.SERVE_VENV} is missing: run `make serve-setup` (make test does)")


@pytest.mark.parametrize("model", MODELS)
def test_evaluation_answers_as_the_served_model_does(model: str, synth: Synthesized) -> None:
    cases = read_set(ROOT / "models" / model / "evaluation.jsonl").cases
    requests = [Request(case.body, JSON, JSON) for case in cases]
    requests += [Request(example(model), JSON, JSON), Request(example(model), JSON, NPY)]
    requests += [Request(body, kind, accept) for body, kind, accept in REJECTED]
    requests.append(Request(example(model), JSON, "text/html"))
    archive = synth.bundles[model].path
    (evaluated,) = side_by_side([Job(archive, "inference.py", tuple(requests))])
    assert evaluated.error is None, evaluated.error
    with serving.serving(archive) as server:
        served = [serving.invoke(server, r.body, r.content_type, accept=r.accept) for r in requests]
    assert len(evaluated.answers) == len(served) == len(requests)
    for request, answer, (status, content_type, body) in zip(
        requests, evaluated.answers, served, strict=True
    ):
        where = request.body[:60]
        assert (answer.status, answer.body) == (status, body), where
        assert answer.content_type == content_type.split(";")[0], where
    assert sum(a.status == 200 for a in evaluated.answers) == len(cases) + 2
    assert [a.status for a in evaluated.answers[-4:]] == [400, 400, 415, 406]
