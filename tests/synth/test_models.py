"""Serving handlers, loaded fresh from the bundle synth built: they answer each model's example
request, speak JSON and NPY, and turn bad requests into clear client errors."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from tests.conftest import Synthesized
from tests.model_support import MODELS, FakeContext, example, instances, load

JSON = "application/json"
NPY = "application/x-npy"


@pytest.fixture(scope="module")
def extracted(synth: Synthesized, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each model's model.tar.gz, as synth built it, extracted as SageMaker extracts it."""
    folders = {}
    for name, bundle in synth.bundles.items():
        target = tmp_path_factory.mktemp(name) / "model"
        with tarfile.open(bundle.path, "r:gz") as tar:
            tar.extractall(target, filter="data")
        folders[name] = target
    return folders


@pytest.fixture(scope="module")
def handlers(extracted: dict[str, Path]) -> dict[str, tuple[ModuleType, Any]]:
    """(inference module, loaded model) per model, imported from the bundle's own code/."""
    loaded = {}
    for name, folder in extracted.items():
        module = load(folder / "code", "inference")
        assert module.__file__ is not None
        assert Path(module.__file__).is_relative_to(folder), "imported from the wrong place"
        loaded[name] = (module, module.model_fn(str(folder)))
    return loaded


def answer(handler: ModuleType, model: Any, body: bytes | str, content_type: str, accept: str):
    data = handler.input_fn(body, content_type)
    return handler.output_fn(handler.predict_fn(data, model), accept)


def test_every_model_is_bundled(synth: Synthesized) -> None:
    assert sorted(synth.bundles) == MODELS
    assert {"iris", "digits"} <= set(MODELS)


@pytest.mark.parametrize("model", MODELS)
def test_bundle_layout(extracted: dict[str, Path], model: str) -> None:
    folder = extracted[model]
    assert (folder / "model.pt").is_file()
    assert (folder / "model.pt").stat().st_size < 64 * 1024, "weights should stay kilobytes"
    for name in ("inference.py", "model.py", "requirements.txt", "modelkit/payloads.py"):
        assert (folder / "code" / name).is_file(), name
    assert not (folder / "code" / "data").exists(), "training data does not belong in a bundle"


@pytest.mark.parametrize("model", MODELS)
def test_the_handler_answers_the_example_request(handlers, model: str) -> None:
    handler, net = handlers[model]
    body, content_type = answer(handler, net, example(model), JSON, JSON)
    assert content_type == JSON
    predictions = json.loads(body)["predictions"]
    assert len(predictions) == len(instances(model))
    classes = handler.CLASSES
    for row in predictions:
        assert row["label"] in classes
        assert len(row["probabilities"]) == len(classes)
        assert sum(row["probabilities"]) == pytest.approx(1.0, abs=1e-4)
        assert row["label"] == classes[int(np.argmax(row["probabilities"]))]


def test_the_examples_are_predicted_correctly(handlers) -> None:
    """The example requests are real data points whose answers are known."""
    expected = {"iris": ["setosa", "versicolor", "virginica"], "digits": ["3", "8"]}
    for model, labels in expected.items():
        handler, net = handlers[model]
        body, _ = answer(handler, net, example(model), JSON, JSON)
        assert [row["label"] for row in json.loads(body)["predictions"]] == labels


@pytest.mark.parametrize("model", MODELS)
def test_npy_in_and_out_agree_with_json(handlers, model: str) -> None:
    handler, net = handlers[model]
    as_json = json.loads(answer(handler, net, example(model), JSON, JSON)[0])["predictions"]
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(instances(model), dtype=np.float32))
    body, content_type = answer(handler, net, buffer.getvalue(), NPY, NPY)
    assert content_type == NPY
    probabilities = np.load(io.BytesIO(body))
    assert probabilities.shape == (len(as_json), len(handler.CLASSES))
    np.testing.assert_allclose(
        probabilities, [row["probabilities"] for row in as_json], atol=1e-5, rtol=0
    )


def test_digits_accept_flat_and_square_images(handlers) -> None:
    handler, net = handlers["digits"]
    square = instances("digits")
    flat = [[pixel for row in image for pixel in row] for image in square]
    one = json.dumps(square[0])  # a single image, no batch axis
    assert answer(handler, net, json.dumps(flat), JSON, JSON) == answer(
        handler, net, json.dumps({"instances": square}), JSON, JSON
    )
    assert len(json.loads(answer(handler, net, one, JSON, JSON)[0])["predictions"]) == 1


BAD_REQUESTS = [
    # (model, body, content type, accept, status, words in the message)
    ("iris", b"{not json", JSON, JSON, 400, "not valid JSON"),
    ("iris", b'{"rows": [[1, 2, 3, 4]]}', JSON, JSON, 400, '{"instances": [...]}'),
    ("iris", b'{"instances": [[5.1, 3.5, 1.4]]}', JSON, JSON, 400, "shape [4]"),
    ("iris", b'{"instances": [[5.1, 3.5], [1.4]]}', JSON, JSON, 400, "equal length"),
    ("iris", b'{"instances": [["a", "b", "c", "d"]]}', JSON, JSON, 400, "numbers"),
    ("iris", b'{"instances": []}', JSON, JSON, 400, "shape"),
    ("iris", b"[[NaN, 1, 2, 3]]", JSON, JSON, 400, "NaN or infinite"),
    ("iris", b"5.1,3.5,1.4,0.2", "text/csv", JSON, 415, "not supported"),
    ("iris", b"[[5.1, 3.5, 1.4, 0.2]]", JSON, "text/html", 406, "accept type"),
    ("iris", b"\x93NUMPY garbage", NPY, JSON, 400, ".npy"),
    ("digits", b"[[[0, 1], [2, 3]]]", JSON, JSON, 400, "[8, 8] or [64]"),
    ("digits", json.dumps([[99] * 64]).encode(), JSON, JSON, 400, "between 0 and 16"),
]


@pytest.mark.parametrize(
    ("model", "body", "content_type", "accept", "status", "words"),
    BAD_REQUESTS,
    ids=[f"{case[0]}-{case[4]}-{case[5]}" for case in BAD_REQUESTS],
)
def test_bad_requests_are_client_errors(
    handlers, model: str, body: bytes, content_type: str, accept: str, status: int, words: str
) -> None:
    handler, net = handlers[model]
    # Plain Python: the handler raises the toolkit's error type with a 4xx status.
    with pytest.raises(Exception) as raised:
        answer(handler, net, body, content_type, accept)
    assert type(raised.value).__name__ == "ClientError"
    # The bundle's own copy of the error class (imported fresh from it): read it by its fields.
    client_error: Any = raised.value
    assert client_error.status_code == status
    assert words in client_error.message
    # In the serving container: the status goes on the request context and the body says why.
    context = FakeContext()
    data = handler.input_fn(body, content_type, context)
    response, response_type = handler.output_fn(handler.predict_fn(data, net), accept, context)
    assert context.status is not None and context.status[0] == status
    assert response_type == JSON
    error = json.loads(response)["error"]
    assert error["status"] == status
    assert words in error["message"]
    assert "Traceback" not in error["message"]


def test_a_good_request_with_a_context_leaves_the_status_alone(handlers) -> None:
    handler, net = handlers["iris"]
    context = FakeContext()
    data = handler.input_fn(example("iris"), JSON, context)
    body, _ = handler.output_fn(handler.predict_fn(data, net), JSON, context)
    assert context.status is None
    assert "predictions" in json.loads(body)
