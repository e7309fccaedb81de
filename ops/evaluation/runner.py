"""Answer requests with one extracted bundle as SageMaker's PyTorch image would: run by
`.venv-serve/bin/python -P runner.py <job.json>`, one fresh process per bundle.

The served path is TorchServe: its Java frontend turns each HTTP request into a frame on a
socket, a Python worker reads it, loads the model once through its model loader with the
handler service of sagemaker-pytorch-inference (whose `Transformer` imports
`code/<SAGEMAKER_PROGRAM>` and falls back to the toolkit's default `input_fn` / `predict_fn` /
`output_fn` for any the module leaves out), and answers with a frame the frontend turns into the
HTTP response. This process does the worker's part with the worker's own code: TorchServe's
model loader and `Service`, its frame reader and answer frames, the toolkit's handler service.
Only the frontend is left out: the request frame is built here with the headers a client sends
(`Content-Type`, `Accept`) and the answer frame is read here. No JVM, no port, no model store.

Runs in the serving environment only (TorchServe and the toolkit are not in the main one), so
it imports them by name at run time and nothing from this project. The job file says where the
extracted bundle is, which requests to send and where to write the answers (JSON, bodies in
base64, each with the seconds `Service.predict` took); and two files by which bundles evaluated
side by side start answering together once all have loaded.
"""

from __future__ import annotations

import base64
import importlib
import importlib.util
import io
import json
import os
import struct
import sys
import time
import traceback
from pathlib import Path
from typing import Any

MODEL_NAME = "model"  # what the toolkit's entry point names the model (`--models model=...`)


def _toolkit_files() -> tuple[str, str, str]:
    """The handler service file (as the toolkit configures TorchServe's
    `default_service_handler`), its default TorchServe properties and TorchServe's metrics
    configuration, found without importing them."""
    spec = importlib.util.find_spec("sagemaker_pytorch_serving_container")
    ts_spec = importlib.util.find_spec("ts")
    if spec is None or ts_spec is None or not spec.submodule_search_locations:
        raise RuntimeError("sagemaker-pytorch-inference or torchserve is not installed")
    toolkit = Path(next(iter(spec.submodule_search_locations)))
    ts_folder = Path(next(iter(ts_spec.submodule_search_locations or [])))
    return (
        str(toolkit / "handler_service.py"),
        str(toolkit / "etc" / "default-ts.properties"),
        str(ts_folder / "configs" / "metrics.yaml"),
    )


def _decode_input_request(properties: str) -> str:
    """TorchServe hands `decode_input_request` to its workers as TS_DECODE_INPUT_REQUEST."""
    for line in Path(properties).read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "decode_input_request":
            return value.strip()
    return "true"


def _worker_path(handler: str, model_dir: str) -> None:
    """The worker's module path as TorchServe's frontend sets its PYTHONPATH: the handler's
    folder (it is imported by module name), the server's own PYTHONPATH (`code/`), the model
    folder; then the interpreter's own."""
    ours = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    path = [str(Path(handler).parent), *(p for p in ours if p), str(Path(model_dir).resolve())]
    os.environ["PYTHONPATH"] = os.pathsep.join(path)
    sys.path[:] = path + [p for p in sys.path if p not in path]


def _load(model_dir: str) -> Any:
    """TorchServe's worker loading the model: its loader, the toolkit's handler service."""
    handler, properties, metrics_config = _toolkit_files()
    os.environ["TS_DECODE_INPUT_REQUEST"] = _decode_input_request(properties)
    _worker_path(handler, model_dir)
    cache_module = importlib.import_module("ts.metrics.metric_cache_yaml_impl")
    metrics = cache_module.MetricsCacheYamlImpl(config_file_path=metrics_config)
    metrics.initialize_cache()
    metrics.model_name = MODEL_NAME
    loader = importlib.import_module("ts.model_loader").ModelLoaderFactory.get_model_loader()
    service = loader.load(MODEL_NAME, model_dir, f"{handler}:handle", None, 1, None, True, metrics)
    service.set_cl_socket(None)
    return service


class _Frame(io.BytesIO):
    """A socket for TorchServe's frame reader: `recv` from bytes already here."""

    def recv(self, size: int) -> bytes:
        return self.read(size)


def _sized(data: bytes) -> bytes:
    return struct.pack("!i", len(data)) + data


def request_frame(request_id: str, body: bytes, content_type: str, accept: str) -> bytes:
    """An inference command as the frontend sends it: the request id, its headers, one
    parameter `body` with the request's content type, then the ends of each list."""
    headers = (("Content-Type", content_type), ("Accept", accept))
    frame = b"I" + _sized(request_id.encode())
    for name, value in headers:
        frame += _sized(name.encode()) + _sized(value.encode())
    frame += struct.pack("!i", -1)
    frame += _sized(b"body") + _sized(content_type.encode()) + _sized(body)
    return frame + struct.pack("!i", -1) + struct.pack("!i", -1)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = bytes(data), 0

    def int(self) -> int:
        (value,) = struct.unpack_from("!i", self.data, self.at)
        self.at += 4
        return int(value)

    def bytes(self) -> bytes:
        size = self.int()
        value = self.data[self.at : self.at + max(size, 0)]
        self.at += max(size, 0)
        return value


def read_answer(frame: bytes) -> dict[str, Any]:
    """The answer frame of one request, as the frontend turns it into an HTTP response: the
    batch's code when it is not 200, else the request's own status, content type and body."""
    reader = _Reader(frame)
    code, message = reader.int(), reader.bytes().decode("utf-8", "replace")
    reader.bytes()  # request id
    content_type = reader.bytes().decode()
    status, phrase = reader.int(), reader.bytes().decode()
    for _ in range(reader.int()):  # response headers
        reader.bytes()
        reader.bytes()
    body = reader.bytes()
    if code != 200:
        status, phrase, content_type = code, message, "application/json"
        body = json.dumps({"code": code, "message": message}).encode()
    return {"status": status, "phrase": phrase, "content_type": content_type, "body": body}


def answer(service: Any, number: int, request: dict[str, str]) -> dict[str, Any]:
    """Send one request through the worker's own frame reader and `Service.predict`."""
    frame = request_frame(
        str(number), base64.b64decode(request["body"]), request["content_type"], request["accept"]
    )
    handler = importlib.import_module("ts.protocol.otf_message_handler")
    _, batch = handler.retrieve_msg(_Frame(frame))
    started = time.perf_counter()
    response = service.predict(batch)
    seconds = time.perf_counter() - started
    found = read_answer(response)
    found["body"] = base64.b64encode(found["body"]).decode()
    found["seconds"] = seconds
    return found


def _wait_for_the_others(job: dict[str, Any]) -> None:
    """Say the model is loaded, then wait until every bundle evaluated beside this one is:
    they answer at the same time, so their latencies meet the same load."""
    Path(job["ready"]).touch()
    deadline = time.monotonic() + float(job["wait_seconds"])
    while not Path(job["go"]).exists() and time.monotonic() < deadline:
        time.sleep(0.01)


def main(job_file: str) -> int:
    job = json.loads(Path(job_file).read_text())
    result_path = Path(job["result"])
    try:
        started = time.perf_counter()
        service = _load(job["model_dir"])
        loaded = time.perf_counter() - started
    except Exception as error:  # the bundle's own code failed: report it, do not crash
        trace = traceback.format_exc(limit=-3)
        failed = {"error": f"the model did not load: {error}", "trace": trace}
        result_path.write_text(json.dumps(failed))
        return 0
    requests = job["requests"]
    if requests:
        answer(service, -1, requests[0])  # warm-up, as a server's first request is
    _wait_for_the_others(job)
    answers = [answer(service, number, request) for number, request in enumerate(requests)]
    result_path.write_text(json.dumps({"load_seconds": loaded, "answers": answers}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
