"""Integration: one TorchServe in the toolkit's multi-model mode (`ops.serving.host`) serves the
two example bundles side by side, though both ship a different `model.py` (and `inference.py`):
each answers exactly as its own handler does in process, one model unloads without disturbing
the other, and stopping the host leaves nothing running."""

from __future__ import annotations

import hashlib
import json
import tarfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops import serving
from ops.serving import host as hosting
from tests.conftest import Synthesized, group_alive
from tests.integration.test_serving import port_open
from tests.model_support import example, instances, load

JSON = "application/json"
MODELS = ("iris", "digits")
ENVIRONMENT = {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_CONTAINER_LOG_LEVEL": "20"}


@pytest.fixture(scope="module")
def host(synth: Synthesized) -> Iterator[tuple[hosting.Host, dict[str, Path]]]:
    """Both example bundles, as synth built them, loaded on one host."""
    if not (serving.SERVE_VENV / "bin" / "torchserve").is_file():
        pytest.fail(f"{serving.SERVE_VENV} is missing: run `make serve-setup` (make test does)")
    started = hosting.start_host(environment=ENVIRONMENT)
    try:
        folders = {
            name: hosting.add_model(started, name, synth.bundles[name].path) for name in MODELS
        }
        yield started, folders
    finally:
        hosting.stop_host(started)
    assert not group_alive(started.server.process.pid), "processes were left running"
    assert not port_open(started.server.port)
    assert not started.server.workdir.exists()


def post(url: str, body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(  # noqa: S310 - loopback
        url, data=body, method="POST", headers={"Content-Type": JSON, "Accept": JSON}
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return int(response.status), response.read()


def expected(name: str, model_dir: Path) -> list[object]:
    handler = load(model_dir / "code", "inference")
    net = handler.model_fn(str(model_dir))
    prediction = handler.predict_fn(handler.input_fn(example(name), JSON), net)
    body, _ = handler.output_fn(prediction, JSON)
    return list(json.loads(body)["predictions"])


def test_models_with_conflicting_modules_answer_side_by_side(host) -> None:
    started, folders = host
    digests = {
        name: {
            module: hashlib.sha256((folders[name] / "code" / module).read_bytes()).hexdigest()
            for module in ("model.py", "inference.py")
        }
        for name in MODELS
    }
    assert all(digests["iris"][m] != digests["digits"][m] for m in ("model.py", "inference.py"))
    for name in MODELS:
        status, body = post(hosting.invocations_url(started, name), example(name))
        assert status == 200, body
        predictions = json.loads(body)["predictions"]
        assert len(predictions) == len(instances(name))
        assert predictions == expected(name, folders[name])
    # each loaded its own archive: the models' class counts differ (3 species, 10 digits)
    sizes = {
        name: len(json.loads(post(hosting.invocations_url(started, name), example(name))[1])
                  ["predictions"][0]["probabilities"])
        for name in MODELS
    }  # fmt: skip
    assert sizes == {"iris": 3, "digits": 10}


def test_one_model_unloads_and_the_other_keeps_answering(host) -> None:
    started, folders = host
    hosting.remove_model(started, "iris")
    assert not folders["iris"].exists()
    status, _ = post(hosting.invocations_url(started, "digits"), example("digits"))
    assert status == 200
    with pytest.raises(urllib.error.HTTPError) as gone:
        post(hosting.invocations_url(started, "iris"), example("iris"))
    assert gone.value.code == 404


def test_a_name_the_host_has_is_refused_and_its_model_keeps_answering(host) -> None:
    started, folders = host
    with pytest.raises(serving.ServeError, match="already loaded"):
        hosting.add_model(started, "digits", folders["digits"].parent / "missing.tar.gz")
    status, _ = post(hosting.invocations_url(started, "digits"), example("digits"))
    assert status == 200 and folders["digits"].is_dir()


def test_a_model_that_fails_to_load_leaves_no_registration_behind(host, tmp_path: Path) -> None:
    """A load that fails (here `model_fn` raises) is reported, and the name is free again:
    TorchServe may keep a registration whose worker never came up."""
    started, _ = host
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text(
        "def model_fn(model_dir):\n    raise RuntimeError('weights missing')\n"
    )
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(code, arcname="code")
    with pytest.raises(serving.ServeError):
        hosting.add_model(started, "broken", archive, timeout=60)
    assert "broken" not in started.models
    with pytest.raises(urllib.error.HTTPError) as gone:
        urllib.request.urlopen(f"{started.url}/models/broken", timeout=30)  # noqa: S310
    assert gone.value.code == 404
