"""Serve a synthesized model.tar.gz locally with SageMaker's own PyTorch serving stack.

`python -m ops serve <model>` finds the bundle that synth produced for the model (the stack
template's `Metadata.ModelBundle.sha256` names `cdk.out/asset.<sha256>.tar.gz`), reads the
handler module the stack's Model sets as `SAGEMAKER_PROGRAM`, and serves the bundle with
`ops.serving` (TorchServe with sagemaker-pytorch-inference's handler service: the same code path
as the SageMaker PyTorch inference image). It listens on 127.0.0.1 only and answers `GET /ping`
and `POST /invocations`. Ctrl-C stops it and everything it started.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from configs.errors import ConfigError
from configs.evaluation import JSON_TYPE
from configs.loader import load_project
from configs.smoke import DEFAULT_REQUEST
from ops import serving
from stacks.metadata import BundleRecord
from stacks.templates import StackTemplate, properties, read_assembly

ROOT = Path(__file__).resolve().parents[1]
MODEL = "AWS::SageMaker::Model"
DEFAULT_PROGRAM = "inference.py"


def _model_stack(
    model: str, *, outdir: Path, environment: str
) -> tuple[StackTemplate, BundleRecord]:
    """The stack that deploys `model` to `environment` in the assembly at `outdir`, and its bundle.

    Raises:
        ServeError: no assembly, or no such stack in it.
    """
    try:
        stacks = read_assembly(outdir)
    except FileNotFoundError as error:
        raise serving.ServeError(str(error)) from None
    for stack in stacks:
        bundle = stack.bundle
        if bundle and bundle.model == model and bundle.environment == environment:
            return stack, bundle
    known = sorted({f"{s.bundle.model} ({s.bundle.environment})" for s in stacks if s.bundle})
    raise serving.ServeError(
        f"no stack for model {model!r} in environment {environment!r} in {outdir}; "
        f"synthesized: {', '.join(known) or 'nothing'} (run `npx cdk synth` after adding a model)"
    )


def _archive(stack: StackTemplate, bundle: BundleRecord, outdir: Path) -> Path:
    """The model.tar.gz the stack's template names (`asset.<sha256>.tar.gz` in the assembly)."""
    archive = outdir / f"asset.{bundle.sha256}.tar.gz"
    if not archive.is_file():
        raise serving.ServeError(f"{stack.name} names {archive.name}, which is not in {outdir}")
    return archive


def bundle_for(
    model: str, *, outdir: Path = ROOT / "cdk.out", environment: str = "staging"
) -> Path:
    """The model.tar.gz that synth built for `model`, as the stack template names it.

    Args:
        model: model name (the folder under models/).
        outdir: the cloud assembly folder.
        environment: which environment's stack to read (every environment ships the same bundle).

    Raises:
        ServeError: no such stack in the assembly, or its archive is missing.
    """
    stack, bundle = _model_stack(model, outdir=outdir, environment=environment)
    return _archive(stack, bundle, outdir)


def entry_point(stack: StackTemplate) -> str:
    """SAGEMAKER_PROGRAM as the stack's synthesized Model sets it (inference.py if not found)."""
    for resource in stack.resources(MODEL).values():
        props = properties(resource)
        for container in [props.get("PrimaryContainer", {}), *props.get("Containers", [])]:
            program = container.get("Environment", {}).get("SAGEMAKER_PROGRAM")
            if isinstance(program, str) and program:
                return program
    return DEFAULT_PROGRAM


def network_isolation(stack: StackTemplate) -> bool:
    """Whether the stack's Model runs without network (`EnableNetworkIsolation`), so that local
    serving installs code/requirements.txt the way that container would (`ops.serving`)."""
    return any(
        properties(resource).get("EnableNetworkIsolation") is True
        for resource in stack.resources(MODEL).values()
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="model name (a folder under models/)")
    parser.add_argument(
        "--environment", default="staging", help="whose stack names the bundle (default: staging)"
    )
    parser.add_argument(
        "--outdir", type=Path, default=ROOT / "cdk.out", help="cloud assembly (default: cdk.out)"
    )
    parser.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (default: 8080)")
    parser.add_argument("--workers", type=int, default=1, help="TorchServe workers (default: 1)")


def _raise_interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _smoke_request(model: str) -> tuple[Path, str, str]:
    """The model's smoke request (file, content type, accept), as `ops verify --smoke` sends it;
    `example.json` as JSON if the project's configs cannot be read."""
    try:
        source = load_project(ROOT).models.get(model)
    except (ConfigError, OSError):
        source = None
    if source is None:
        return ROOT / "models" / model / DEFAULT_REQUEST, JSON_TYPE, JSON_TYPE
    smoke = source.file.smoke
    return source.folder / smoke.request, smoke.content_type, smoke.accept


def _announce(server: serving.Server, *, archive: Path, model: str, program: str) -> None:
    request, content_type, accept = _smoke_request(model)
    shown = request.relative_to(ROOT) if request.is_relative_to(ROOT) else request
    print(
        f"\nserving {archive.name} ({model}, SAGEMAKER_PROGRAM={program}) at {server.url}\n"
        f"  curl {server.url}/ping\n"
        f"  curl -H 'Content-Type: {content_type}' -H 'Accept: {accept}' --data-binary @{shown} "
        f"{server.url}/invocations\n"
        "The smoke request; `ops verify --smoke` checks its answer against the model's smoke "
        "section.\nCtrl-C stops it.",
        flush=True,
    )


def run(args: argparse.Namespace) -> int:
    try:
        stack, bundle = _model_stack(args.model, outdir=args.outdir, environment=args.environment)
        archive = _archive(stack, bundle, args.outdir)
        program = entry_point(stack)
        server = serving.start(
            archive,
            port=args.port,
            entry_point=program,
            workers=args.workers,
            capture_log=False,
            network_isolation=network_isolation(stack),
        )
    except serving.ServeError as error:
        print(f"serve: {error}", file=sys.stderr)
        return 1
    # Ctrl-C (even where a parent shell ignores SIGINT) and SIGTERM both stop the server.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        serving.wait_ready(server)
        _announce(server, archive=archive, model=args.model, program=program)
        code = server.process.wait()
        print(f"serve: the server exited with code {code}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except serving.ServeError as error:
        print(f"serve: {error}", file=sys.stderr)
        return 1
    finally:
        # A second Ctrl-C must not cut the clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        serving.stop(server)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, previous)
        print("serve: stopped; nothing left running", flush=True)
