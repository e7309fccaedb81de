"""Shared fixtures and the test tiers. The real app is synthesized once per test session,
in-process (with pytest-xdist, once for all the workers: see `synth`).

A test's tier is the folder it sits in, so nobody has to remember a marker: `tests/unit/`
needs no synth, `tests/synth/` synthesizes (templates, snapshots, lint, nag),
`tests/integration/` needs TorchServe and Java, the emulator process, the CDK CLI or taskcat.
The folder's name becomes the test's marker (`pytest -m "not integration"`).

`make check` and `make test` run pytest-xdist with `--dist loadfile`: a module's tests run on
one worker, so a module-scoped fixture (an assembly synthesized for the module, a running model
server, a drill) is built once rather than once per worker.
"""

from __future__ import annotations

import atexit
import fcntl
import gc
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from aws_cdk import App

ROOT = Path(__file__).resolve().parents[1]

TIERS = ("unit", "synth", "integration")

# The garbage collector in a test process. The run keeps a large heap alive (torch, moto's
# service models, the CDK's jsii proxies, the session's templates), and Python's default
# thresholds (700, 10, 10) walked it in ~30 full collections per pytest-xdist worker during
# `make check`: 10 to 16 s of each worker's time (measured with gc.callbacks). Three changes,
# none of which changes what a test runs:
# - larger thresholds: young objects are looked at every 50,000 allocations, not 700, so fewer
#   short-lived ones survive into the old generation, and a full collection waits for 100
#   middle ones (3 or 4 full collections per worker; 2 to 6 s in all). Peak worker memory:
#   0.62 to 0.96 GB, against 0.58 to 0.83 GB before.
# - what collection imported is frozen (`gc.freeze`): it lives as long as the process, and no
#   full collection walks it again.
# - frozen again at exit: the interpreter's teardown otherwise walks the whole heap in its own
#   collections, ~5 s per worker after every test has reported. Fixtures, the session's finish
#   and pytest's search for exceptions raised in `__del__` have all run by then (atexit runs
#   after them); only cycles still alive at exit go unfinalized.
gc.set_threshold(50_000, 20, 100)
atexit.register(gc.freeze)


# Set before aws_cdk is imported anywhere: the CDK's node process reads them at start-up.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("SAGEMAKER_TELEMETRY_OPT_OUT", "true")


@pytest.fixture(scope="session", autouse=True)
def _diff_engine_stopped() -> Iterator[None]:
    """The diff engine a test starts serves the process's later diffs (`ops.diff.engine`); the
    session stops it rather than leave it to the process's exit."""
    yield
    from ops.diff import engine

    engine.close()


def tier_of(path: Path) -> str | None:
    """The tier folder below tests/ that a test module sits in, if any."""
    tests = ROOT / "tests"
    if not path.resolve().is_relative_to(tests):
        return None
    parts = path.resolve().relative_to(tests).parts
    return parts[0] if len(parts) > 1 and parts[0] in TIERS else None


def group_alive(pgid: int) -> bool:
    """Whether process group `pgid` still has a member (a killed one counts until reaped)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def pytest_collection_finish(session: pytest.Session) -> None:
    """What the test modules imported lives as long as the process: out of the collector's
    sight (see `gc.set_threshold` above)."""
    gc.freeze()


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """pytest walks the heap twice as it ends: a full collection to report exceptions raised
    in `__del__` (its unconfigure, before this one), then another in its cleanup, after only
    the plugins' own teardown. Frozen between the two, the second walks what that teardown made
    (1.0 to 1.4 s per worker otherwise)."""
    gc.freeze()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its folder's tier; a test module outside the tiers stops the run.
    Then order the tests heaviest tier first (see `heaviest_tier_first`)."""
    strays = set()
    for item in items:
        tier = tier_of(item.path)
        if tier is None:
            strays.add(item.path)
        else:
            item.add_marker(getattr(pytest.mark, tier))
    if strays:
        listed = "\n  ".join(sorted(map(str, strays)))
        raise pytest.UsageError(
            f"test modules outside a tier folder:\n  {listed}\n"
            f"move each into tests/{{{','.join(TIERS)}}}/ (unit: no synth; synth: synthesizes; "
            "integration: serving, the emulator process, the CDK CLI or taskcat)"
        )
    items[:] = heaviest_tier_first(items)


def heaviest_tier_first(items: Sequence[pytest.Item]) -> list[pytest.Item]:
    """Integration, then synth, then unit; each tier's modules and tests in collection order.

    pytest-xdist hands out whole modules (`--dist loadfile`) in this order when the Makefile's
    `--no-loadscope-reorder` asks it to keep it. Its default orders modules by their number of
    tests, which sent the integration modules (a few tests each, a minute or more each) last:
    one worker ran the last of them while the other had nothing left (bench/RESULTS.md, "CI in
    `make bench`, the order of the test modules"). Heaviest first, the unit tier's short
    modules are what is left at the end, and they fill both workers until the run ends."""
    weight = {tier: rank for rank, tier in enumerate(reversed(TIERS))}
    return sorted(items, key=lambda item: weight[tier_of(item.path) or TIERS[0]])


@dataclass(frozen=True)
class Synthesized:
    """The real app, synthesized: templates by stack name and the bundles that went in."""

    outdir: Path
    templates: dict[str, dict[str, Any]]
    bundles: dict[str, Any]  # model name -> bundler.cache.Bundle
    project: Any  # configs.loader.Project

    def template(self, stack_name: str) -> Any:
        from aws_cdk.assertions import Template

        return Template.from_json(self.templates[stack_name])


def small_app(outdir: Path | None = None) -> App:
    """An App for a small stack a test builds itself, with the CDK's built-in CloudFormation
    validation off: such tests assert on the template or on the project's own checks (cdk-nag,
    the rule pack), and the built-in check would cost its schema engine (8 to 12 CPU-seconds per
    node process) for a report nobody reads; the real stacks' report includes it (test_lint)."""
    from aws_cdk import App

    if outdir is None:
        return App(builtin_cloud_formation_validation=False)
    return App(outdir=str(outdir), builtin_cloud_formation_validation=False)


def synthesize(
    root: Path,
    outdir: Path,
    cache_dir: Path,
    *,
    stacks: Sequence[str] = (),
) -> Synthesized:
    """Load `root`'s configs and synthesize its stacks into `outdir`, in this process.

    `stacks`: stack-name globs, as `-c stacks=` gives app.py (`add_stacks`' selection); a test
    that changes one model's config names that model's stacks, and only those are built and
    their models bundled (each stack costs the CDK's node process about a CPU-second). Empty:
    every stack.

    The CDK's own CloudFormation validation, which `cdk synth` runs after the templates are
    written, is off: it changes no template, only adds its findings (as warnings) to
    validation-report.json beside the project's checks, which stay on. Off, a synth saves its
    check of each template (about half a CPU-second) and, if it is the first in the process, the
    building of its schema engine (5 to 12 CPU-seconds, once per node process). Its verdict on
    the real app is asserted where the CLI synthesizes it (tests/integration/test_cdk_cli.py)."""
    from aws_cdk import App

    from configs.loader import load_project
    from stacks.app_stacks import add_stacks

    project = load_project(root)
    # The same context the CLI passes from cdk.json, so templates match `npx cdk synth`.
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    app = App(outdir=str(outdir), context=context, builtin_cloud_formation_validation=False)
    built = add_stacks(app, project, cache_dir=cache_dir, selection=stacks)
    assembly = app.synth()
    templates = {stack.stack_name: stack.template for stack in assembly.stacks}
    return Synthesized(outdir, templates, built.bundles, project)


# The session synth's bundle cache and SDK memo: kept between runs, as `cdk synth` keeps
# `.cache/bundles`, but apart from it, so a test run never writes into a developer's cache.
# Content-addressed: a changed input byte is a new entry, so a warm cache changes no template
# (test_hermetic compares this synth with one made from an empty cache in a fresh process).
# Warm, it spares the synth that every other worker waits for the SDK's import and the packing
# of every model (18.6 -> 12.3 s here).
SESSION_CACHE = ROOT / ".cache" / "test-bundles"


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The real app, synthesized once per session. xdist's workers share one session folder
    (the parent of their own): the first worker to ask synthesizes under a lock and writes down
    what it made; the others wait for the lock and read it, instead of synthesizing again.
    The project's own checks run as in `cdk synth` (test_lint reads their report); the CDK's
    built-in validation does not: it would cost the synth every other worker waits for 5 to 6 of
    its 10 seconds here, and it changes no template. The integration tier asserts on its report
    where the CLI synthesizes the whole app (test_cdk_cli)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        base = tmp_path_factory.mktemp("synth")
        return synthesize(ROOT, base / "cdk.out", SESSION_CACHE)
    base = tmp_path_factory.getbasetemp().parent / "synth"
    base.mkdir(exist_ok=True)
    record = base / "synthesized.json"
    with (base / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not record.exists():
            made = synthesize(ROOT, base / "cdk.out", SESSION_CACHE)
            bundles = {name: asdict(bundle) for name, bundle in made.bundles.items()}
            written = {"templates": made.templates, "bundles": bundles}
            record.write_text(json.dumps(written, default=str))
            return made
    return read_synthesized(base / "cdk.out", record)


def read_synthesized(outdir: Path, record: Path) -> Synthesized:
    """What another worker synthesized into `outdir` and wrote down in `record`."""
    from bundler.cache import Bundle
    from configs.loader import load_project

    written = json.loads(record.read_text())
    bundles = {
        name: Bundle(**{**fields, "path": Path(fields["path"])})
        for name, fields in written["bundles"].items()
    }
    return Synthesized(outdir, written["templates"], bundles, load_project(ROOT))


def copy_project(target: Path) -> Path:
    """Copy the project's configs and models (what synth reads) into `target`, to change freely."""
    for name in ("configs", "models"):
        shutil.copytree(
            ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__", "schema")
        )
    return target


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A copy of the project's configs and models in the test's own folder."""
    return copy_project(tmp_path)


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3 pointed at moto only: test keys in eu-west-1, and no profile, session token or
    endpoint override that the shell running the tests may carry."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


def write_yaml(path: Path, data: Any) -> Path:
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
