"""InvokeEndpoint answered by the deployed model itself.

Stock moto answers every InvokeEndpoint with canned text. Here the emulator looks the endpoint
up the way SageMaker does (Endpoint -> EndpointConfig production variant -> Model ->
`ModelDataUrl`), reads that model.tar.gz from its own S3, and forwards the request to the local
serving stack (`ops.serving`: SageMaker's PyTorch inference toolkit) loaded with that archive
(`ops.emulator.model_servers` keeps the loaded models). Each request publishes SageMaker's
invocation metrics (`ops.emulator.metrics`) and, if the serving EndpointConfig captures data,
its record (`ops.emulator.data_capture`).
"""

from __future__ import annotations

import contextlib
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from moto.core.exceptions import ServiceException
from moto.s3.models import s3_backends
from moto.sagemaker.models import sagemaker_backends
from moto.sagemakerruntime import responses as runtime_responses
from moto.utilities.utils import get_partition

from ops.emulator import data_capture, guardrails, metrics, model_servers
from ops.emulator.clock import emulator_clock

INVOKE_TIMEOUT_S = 60.0


class ModelError(Exception):
    """What SageMaker returns as a ModelError (HTTP 424) when the container fails a request."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _fleet(backend: Any, config_name: str) -> tuple[str, dict[str, Any]]:
    config = backend.endpoint_configs[config_name]
    variant = config.production_variants[0]
    model = backend._models[variant["ModelName"]]
    return str(variant["VariantName"]), dict(model.primary_container)


def resolve_model(
    account_id: str, region: str, endpoint_name: str, *, config_name: str | None = None
) -> tuple[str, dict[str, Any]]:
    """The variant's name and its Model's primary container, as SageMaker would route; during a
    guarded update `config_name` names the fleet (EndpointConfig) chosen for the request."""
    backend = sagemaker_backends[account_id][region]
    endpoint = backend.endpoints.get(endpoint_name)
    if endpoint is None:
        raise LookupError(f"Endpoint {endpoint_name} of account {account_id} not found.")
    return _fleet(backend, config_name or endpoint.endpoint_config_name)


def route(account_id: str, region: str, endpoint_name: str) -> tuple[str, int]:
    """The EndpointConfig whose fleet serves the request (the new one for its share of traffic
    during a guarded update) and that fleet's instance count."""
    backend = sagemaker_backends[account_id][region]
    endpoint = backend.endpoints.get(endpoint_name)
    if endpoint is None:
        raise LookupError(f"Endpoint {endpoint_name} of account {account_id} not found.")
    deployment = guardrails.active(account_id, region, endpoint_name)
    name = deployment.route() if deployment is not None else endpoint.endpoint_config_name
    variants = backend.endpoint_configs[name].production_variants
    return str(name), int(variants[0].get("InitialInstanceCount") or 1)


def read_s3(account_id: str, region: str, url: str) -> bytes:
    if not url.startswith("s3://"):
        raise ValueError(f"ModelDataUrl {url} is not an s3:// URL")
    bucket, _, key = url[len("s3://") :].partition("/")
    found = s3_backends[account_id][get_partition(region)].get_object(bucket, key)
    if found is None:
        raise LookupError(f"{url} does not exist")
    return bytes(found.value)


def provision(account_id: str, region: str, config_name: str) -> None:
    """Start the fleet of an EndpointConfig (its model server) and wait until it is healthy, as
    SageMaker does before a guarded deployment shifts traffic to it."""
    _, container = _fleet(sagemaker_backends[account_id][region], config_name)
    archive = read_s3(account_id, region, container["ModelDataUrl"])
    model_servers.pool().server_for(archive, dict(container.get("Environment") or {}))


def warm(account_id: str, region: str, config_name: str) -> None:
    """Load an EndpointConfig's model in the background, as SageMaker starts an endpoint's
    container at CreateEndpoint. The endpoint shows InService at once here (moto's); a request
    that arrives while its model loads waits for it, and a model that fails to load fails that
    request with the reason (`ModelError`), as an endpoint whose container never gets healthy
    fails to create in SageMaker (what the emulator does not imitate: the endpoint stays
    InService)."""

    if not model_servers.loads_on_create():
        return

    def load() -> None:
        with contextlib.suppress(Exception):  # the request that needs the model reports it
            provision(account_id, region, config_name)

    threading.Thread(target=load, name=f"warm {config_name}", daemon=True).start()


def invoke(
    server: model_servers.ModelServer, body: bytes, content_type: str, accept: str
) -> tuple[bytes, str]:
    request = urllib.request.Request(  # noqa: S310 - a loopback URL we started
        server.invocations_url,
        data=body,
        method="POST",
        headers={"Content-Type": content_type, "Accept": accept},
    )
    try:
        with urllib.request.urlopen(request, timeout=INVOKE_TIMEOUT_S) as response:  # noqa: S310
            return response.read(), response.headers.get("Content-Type", accept)
    except urllib.error.HTTPError as error:
        raise ModelError(error.code, error.read().decode(errors="replace")) from error


class ModelErrorResponse(ServiceException):
    """SageMaker Runtime's ModelError (HTTP 424): the container failed or answered 4xx/5xx."""

    code = "ModelError"

    def __init__(self, message: str, status: int | None = None, original: str = "") -> None:
        super().__init__(message)
        if status is not None:
            self.OriginalStatusCode = status
            self.OriginalMessage = original


class EndpointValidationError(ServiceException):
    code = "ValidationError"


def _invoke_endpoint(self: Any) -> tuple[int, dict[str, str], bytes | str]:
    endpoint_name = self._get_param("EndpointName") or self.path.split("/")[2]
    account_id, region = self.current_account, self.region
    received = time.monotonic()
    try:
        config_name, instances = route(account_id, region, endpoint_name)
        variant, container = resolve_model(
            account_id, region, endpoint_name, config_name=config_name
        )
    except LookupError as error:
        raise EndpointValidationError(str(error)) from error
    status: int | None = None
    model_seconds: float | None = None
    try:
        archive = read_s3(account_id, region, container["ModelDataUrl"])
        server = model_servers.pool().server_for(archive, dict(container.get("Environment") or {}))
        sent = time.monotonic()
        request = self.body if isinstance(self.body, bytes) else str(self.body).encode()
        request_type = self.headers.get("Content-Type", "application/json")
        try:
            body, content_type = invoke(
                server, request, request_type, self.headers.get("Accept", "application/json")
            )
            status = 200
        except ModelError as error:
            status = error.status
            raise
        finally:
            model_seconds = time.monotonic() - sent
    except ModelError as error:
        raise ModelErrorResponse(
            f'Received client error ({error.status}) from primary with message "{error.message}".',
            error.status,
            error.message,
        ) from error
    except Exception as error:
        raise ModelErrorResponse(f"the model server did not answer: {error}") from error
    finally:
        clock = emulator_clock()
        invocation = metrics.Invocation(
            endpoint_name=endpoint_name,
            variant_name=variant,
            endpoint_config_name=config_name,
            model_status=status,
            model_seconds=model_seconds if status is not None else None,
            total_seconds=time.monotonic() - received,
            instance_count=instances,
        )
        metrics.publish(account_id, region, invocation, timestamp=clock.now())
    exchange = data_capture.Exchange(
        endpoint=endpoint_name,
        variant=variant,
        request=request,
        request_type=request_type,
        response=body,
        response_type=content_type,
        at=clock.now(),
        inference_id=self.headers.get("X-Amzn-SageMaker-Inference-Id"),
    )
    config = sagemaker_backends[account_id][region].endpoint_configs.get(config_name)
    if config is not None:
        data_capture.capture(account_id, region, config.data_capture_config, exchange)
    return 200, {"Content-Type": content_type, "x-Amzn-Invoked-Production-Variant": variant}, body


def patches() -> list[tuple[object, str, object]]:
    return [(runtime_responses.SageMakerRuntimeResponse, "invoke_endpoint", _invoke_endpoint)]
