"""Integration: SageMaker's PyTorch serving stack (TorchServe + sagemaker-pytorch-inference, in
.venv-serve) serves each synthesized model.tar.gz on 127.0.0.1, answers /ping and /invocations
exactly as the in-process handler does, rejects bad requests with a clear 4xx, answers the
model's evaluation set exactly as `ops.evaluation` does, and stops with nothing left running.

One server per model for the whole module: a TorchServe start is the expensive part of this
tier, so every check on a served bundle uses the same one."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from configs.evaluation import read_set
from ops import serve, serving
from ops.evaluation.evaluate import Job, Request, side_by_side
from tests.conftest import ROOT, Synthesized, group_alive
from tests.model_support import MODELS, example, instances, load

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


@pytest.fixture(scope="module", params=MODELS)
def served(
    request: pytest.FixtureRequest, synth: Synthesized
) -> Iterator[tuple[str, serving.Server]]:
    """One server per model, on the archive synth built and the template names."""
    name = request.param
    bundle = synth.bundles[name]
    stack = next(
        template
        for template in synth.templates.values()
        if template.get("Metadata", {}).get("ModelBundle", {}).get("model") == name
    )
    assert stack["Metadata"]["ModelBundle"]["sha256"] == bundle.sha256
    with serving.serving(bundle.path) as server:
        yield name, server
    assert not group_alive(server.process.pid), "processes were left running"
    assert not port_open(server.port)
    assert not server.workdir.exists()


@pytest.fixture(scope="module")
def in_process(served: tuple[str, serving.Server]):
    """The handler loaded fresh from the same extracted bundle the server serves."""
    _, server = served
    handler = load(server.model_dir / "code", "inference")
    return handler, handler.model_fn(str(server.model_dir))


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((serving.HOST, port)) == 0


def test_ping_says_healthy(served: tuple[str, serving.Server]) -> None:
    _, server = served
    assert server.url.startswith("http://127.0.0.1:")
    assert serving.ping(server)


def test_invocations_equal_the_in_process_handler(served, in_process) -> None:
    name, server = served
    handler, net = in_process
    status, content_type, body = serving.invoke(server, example(name), JSON)
    assert status == 200, body
    assert content_type.startswith(JSON)
    expected, _ = handler.output_fn(
        handler.predict_fn(handler.input_fn(example(name), JSON), net), JSON
    )
    served_predictions = json.loads(body)["predictions"]
    assert len(served_predictions) == len(instances(name))
    assert served_predictions == json.loads(expected)["predictions"]


def test_npy_round_trip(served, in_process) -> None:
    name, server = served
    handler, net = in_process
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(instances(name), dtype=np.float32))
    status, content_type, body = serving.invoke(server, buffer.getvalue(), NPY, accept=NPY)
    assert status == 200, body
    assert content_type.startswith(NPY)
    expected = handler.predict_fn(handler.input_fn(buffer.getvalue(), NPY), net).numpy()
    np.testing.assert_allclose(np.load(io.BytesIO(body)), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ("body", "content_type", "status", "words"),
    [
        (b'{"instances": [[1, 2, 3]]}', JSON, 400, "each instance must have shape"),
        (b"{broken", JSON, 400, "not valid JSON"),
        (b"1,2,3,4", "text/csv", 415, "not supported"),
    ],
)
def test_bad_requests_get_a_clear_4xx(
    served, body: bytes, content_type: str, status: int, words: str
) -> None:
    name, server = served
    got, response_type, response = serving.invoke(server, body, content_type)
    assert got == status
    assert response_type.startswith(JSON)
    error = json.loads(response)["error"]
    assert words in error["message"]
    assert b"Traceback" not in response
    # The worker is still fine afterwards.
    assert serving.invoke(server, example(name), JSON)[0] == 200


def test_evaluation_answers_as_the_served_model_does(
    served: tuple[str, serving.Server], synth: Synthesized
) -> None:
    """Every request of the model's evaluation set, its example and requests the handlers
    reject get the same status, content type and body from `ops.evaluation` (TorchServe's
    worker code in one process) as from the server (TorchServe itself, over HTTP)."""
    name, server = served
    cases = read_set(ROOT / "models" / name / "evaluation.jsonl").cases
    requests = [Request(case.body, JSON, JSON) for case in cases]
    requests += [Request(example(name), JSON, JSON), Request(example(name), JSON, NPY)]
    requests += [Request(body, kind, accept) for body, kind, accept in REJECTED]
    requests.append(Request(example(name), JSON, "text/html"))
    (evaluated,) = side_by_side([Job(synth.bundles[name].path, "inference.py", tuple(requests))])
    assert evaluated.error is None, evaluated.error
    answered = [serving.invoke(server, r.body, r.content_type, accept=r.accept) for r in requests]
    assert len(evaluated.answers) == len(answered) == len(requests)
    for request, answer, (status, content_type, body) in zip(
        requests, evaluated.answers, answered, strict=True
    ):
        where = request.body[:60]
        assert (answer.status, answer.body) == (status, body), where
        assert answer.content_type == content_type.split(";")[0], where
    assert sum(a.status == 200 for a in evaluated.answers) == len(cases) + 2
    assert [a.status for a in evaluated.answers[-4:]] == [400, 400, 415, 406]


def test_bundle_for_reads_the_assembly(synth: Synthesized) -> None:
    for name, bundle in synth.bundles.items():
        archive = serve.bundle_for(name, outdir=synth.outdir)
        assert archive.name == f"asset.{bundle.sha256}.tar.gz"
        assert archive.read_bytes() == bundle.path.read_bytes()
    with pytest.raises(serving.ServeError, match="no stack for model 'nope'"):
        serve.bundle_for("nope", outdir=synth.outdir)


def test_a_broken_bundle_fails_fast_and_cleans_up(tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    (model_dir / "code").mkdir(parents=True)
    (model_dir / "code" / "inference.py").write_text("raise RuntimeError('broken on purpose')\n")
    server = serving.start(model_dir, workdir=tmp_path / "work")
    try:
        # TorchServe starts the worker again each time it dies; `wait_ready` must not wait out
        # its timeout (three minutes) for a model that cannot load, and must say why.
        with pytest.raises(serving.ServeError, match="died 2 times while loading") as raised:
            serving.wait_ready(server)
    finally:
        serving.stop(server)
    assert "RuntimeError: broken on purpose" in str(raised.value)  # the handler's own traceback
    assert "TS_METRICS" not in str(raised.value)
    assert not group_alive(server.process.pid)
