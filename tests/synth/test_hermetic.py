"""Synth is hermetic and reproducible: no network, no credentials, no clock, no checkout state.

A second checkout (files copied in another order, other mtimes), synthesized in a fresh
process with no network (its own network namespace where the kernel allows one, and Python
sockets that raise), no AWS credentials, Python's clock set to the year 2100, another time zone
and another hash seed than this process, must give byte-identical templates and model archives.
With an empty bundle cache, that process asks the sagemaker SDK for every image and pipeline
definition itself: the training pipelines' definitions are shown to be the same from a process
whose strings hash otherwise (set and dict order that leaked into a definition would show).
The clock is faked for Python's `time` (datetime and node keep the real clock, minutes apart
from the session's synth, in another time zone).

The CDK's built-in CloudFormation validation is off in that process (`CDK_VALIDATION=false`),
as in the session synth it is compared with: it only reads the finished templates and writes
validation-report.json, which is not compared here (tests/integration/test_cdk_cli.py asserts
on its verdict), and building its schema engine costs the process about 12 of its 29
CPU-seconds. Templates, archives and manifests are made before it runs and are the same with it
on or off.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT, Synthesized

SOURCES = ("app.py", "cdk.json", "stacks", "bundler", "configs", "models", "ops")

SITECUSTOMIZE = textwrap.dedent("""
    import socket as _socket
    import time as _time

    def _refuse(*args, **kwargs):
        raise OSError("network access during synth: " + repr(args[:2]))

    _socket.socket.connect = _refuse
    _socket.socket.connect_ex = _refuse
    _socket.create_connection = _refuse
    _socket.getaddrinfo = _refuse

    import os as _os
    if _os.environ.get("HERMETIC_HASH_FILE"):
        with open(_os.environ["HERMETIC_HASH_FILE"], "w") as _out:
            _out.write(str(hash("iris")))

    _FUTURE = 4102444800.0  # 2100-01-01
    _time.time = lambda: _FUTURE
    _time.time_ns = lambda: int(_FUTURE * 1e9)
    # datetime.now() reads the same system clock; it cannot be replaced without breaking C
    # extensions, so the clock is shown absent by the time zone change and the second process.

""")


def can_unshare_network() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


def second_checkout(target: Path) -> Path:
    for name in sorted(SOURCES, reverse=True):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(
                source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            shutil.copy(source, target / name)
    for path in target.rglob("*"):
        os.utime(path, (987_654_321, 987_654_321), follow_symlinks=False)
    return target


@pytest.fixture(scope="module")
def isolated_synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("hermetic")
    checkout = second_checkout(base / "checkout")
    (base / "site").mkdir()
    (base / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
    outdir = base / "cdk.out"
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    context["bundleCacheDir"] = str(base / "cache")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "CDK_", "GITHUB_"))
    }
    env.update(
        {
            "PYTHONPATH": f"{base / 'site'}{os.pathsep}{checkout}",
            "CDK_OUTDIR": str(outdir),
            "CDK_CONTEXT_JSON": json.dumps(context),
            "AWS_CONFIG_FILE": str(base / "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(base / "no-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "TZ": "Pacific/Kiritimati",
            "CDK_VALIDATION": "false",
            # Ours is random unless set; theirs is set, and never to ours.
            "PYTHONHASHSEED": "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1",
            "HERMETIC_HASH_FILE": str(base / "hash-of-iris"),
        }
    )
    command = [sys.executable, str(checkout / "app.py")]
    if can_unshare_network():
        command = ["unshare", "-n", *command]
    result = subprocess.run(
        command, cwd=checkout, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "network access during synth" not in result.stderr
    return outdir


def test_that_process_hashes_strings_otherwise(isolated_synth: Path) -> None:
    """What makes the comparison a test of hash order: the seeds differ."""
    theirs = (isolated_synth.parent / "hash-of-iris").read_text()
    assert int(theirs) != hash("iris"), "both processes hash strings alike: same seed"


def test_templates_are_byte_identical(synth: Synthesized, isolated_synth: Path) -> None:
    names = sorted(p.name for p in synth.outdir.glob("*.template.json"))
    assert names == sorted(p.name for p in isolated_synth.glob("*.template.json"))
    assert names
    for name in names:
        assert (isolated_synth / name).read_bytes() == (synth.outdir / name).read_bytes(), name


def test_model_archives_are_byte_identical(synth: Synthesized, isolated_synth: Path) -> None:
    ours = sorted(p.name for p in synth.outdir.glob("asset.*.tar.gz"))
    theirs = sorted(p.name for p in isolated_synth.glob("asset.*.tar.gz"))
    assert ours == theirs and ours
    for name in ours:
        assert (isolated_synth / name).read_bytes() == (synth.outdir / name).read_bytes()


def test_drift_baselines_are_byte_identical(synth: Synthesized, isolated_synth: Path) -> None:
    ours = sorted(p.name for p in synth.outdir.glob("asset.*.json"))
    theirs = sorted(p.name for p in isolated_synth.glob("asset.*.json"))
    assert ours == theirs and ours  # Prod stacks monitor drift: statistics and constraints
    for name in ours:
        assert (isolated_synth / name).read_bytes() == (synth.outdir / name).read_bytes()


def test_asset_manifests_are_identical(synth: Synthesized, isolated_synth: Path) -> None:
    for path in synth.outdir.glob("*.assets.json"):
        assert json.loads((isolated_synth / path.name).read_text()) == json.loads(path.read_text())


def test_python_sockets_are_really_blocked_in_that_process(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(SITECUSTOMIZE)
    probe = "import socket; socket.create_connection(('127.0.0.1', 9))"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        timeout=60,
    )
    assert "network access during synth" in result.stderr
