"""The scanner verdict cache (`tests.verdicts`) that cfn-lint and checkov run through in the
synth tier: a stand-in scanner in a virtual environment of its own counts its runs, so each
test sees whether a call was answered from the cache or by the scanner."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests import verdicts
from tests.verdicts import Scanner

# Prints one finding per template, naming its path and its first line, and counts its runs.
SCRIPT = f"""#!{sys.executable}
import os, sys
with open(os.environ["RUNS"], "a") as runs:
    runs.write("run\\n")
region = os.environ.get("AWS_REGION", "")
for path in sys.argv[1:]:
    print(path + ":1:W0001:" + open(path).readline().strip() + ":" + region)
sys.exit(4)
"""


@pytest.fixture
def scanner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Scanner:
    venv = tmp_path / "venv"
    executable = venv / "bin" / "scan"
    executable.parent.mkdir(parents=True)
    executable.write_text(SCRIPT)
    executable.chmod(0o755)
    record = venv / "lib" / "python3.11" / "site-packages" / "scan-1.0.dist-info" / "RECORD"
    record.parent.mkdir(parents=True)
    record.write_text("scan/__init__.py,sha256=abc,10\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RUNS", str(tmp_path / "runs"))
    monkeypatch.delenv("VERDICT_CACHE", raising=False)
    return Scanner(
        name="scan", executable=executable, config_files=(".scanrc",), env_prefixes=("AWS_REGION",)
    )


def runs(tmp_path: Path) -> int:
    path = tmp_path / "runs"
    return len(path.read_text().splitlines()) if path.exists() else 0


def scan(scanner: Scanner, template: Path, cache: Path) -> tuple[int, str]:
    env = {"RUNS": str(template.parents[1] / "runs"), "PATH": "/usr/bin:/bin"}
    env.update({k: v for k, v in os.environ.items() if k == "AWS_REGION"})
    result = verdicts.run(
        scanner,
        [str(scanner.executable), str(template)],
        [template],
        env=env,
        timeout=60,
        cache_dir=cache,
    )
    return result.returncode, result.stdout


def template(folder: Path, text: str = "one") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "a.template.json"
    path.write_text(text + "\n")
    return path


def test_the_same_bytes_elsewhere_are_answered_from_the_cache_with_their_own_path(
    scanner: Scanner, tmp_path: Path
) -> None:
    first = template(tmp_path / "x")
    assert scan(scanner, first, tmp_path / "cache") == (4, f"{first}:1:W0001:one:\n")
    second = template(tmp_path / "y")
    assert scan(scanner, second, tmp_path / "cache") == (4, f"{second}:1:W0001:one:\n")
    assert runs(tmp_path) == 1


def test_a_changed_template_is_scanned_again(scanner: Scanner, tmp_path: Path) -> None:
    path = template(tmp_path / "x")
    scan(scanner, path, tmp_path / "cache")
    path.write_text("two\n")
    assert scan(scanner, path, tmp_path / "cache") == (4, f"{path}:1:W0001:two:\n")
    assert runs(tmp_path) == 2


def test_another_scanner_version_scans_again(scanner: Scanner, tmp_path: Path) -> None:
    path = template(tmp_path / "x")
    scan(scanner, path, tmp_path / "cache")
    info = next(scanner.executable.parents[1].glob("lib/python*/site-packages/scan-1.0.dist-info"))
    info.rename(info.with_name("scan-1.1.dist-info"))
    scan(scanner, path, tmp_path / "cache")
    assert runs(tmp_path) == 2
    record = next(scanner.executable.parents[1].glob("lib/*/site-packages/scan-*/RECORD"))
    record.write_text("scan/__init__.py,sha256=def,10\n")  # same version, other files
    scan(scanner, path, tmp_path / "cache")
    assert runs(tmp_path) == 3


def test_another_config_or_region_scans_again(
    scanner: Scanner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = template(tmp_path / "x")
    scan(scanner, path, tmp_path / "cache")
    (tmp_path / ".scanrc").write_text("ignore: [W0001]\n")
    scan(scanner, path, tmp_path / "cache")
    assert runs(tmp_path) == 2
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    assert scan(scanner, path, tmp_path / "cache") == (4, f"{path}:1:W0001:one:us-west-2\n")
    assert runs(tmp_path) == 3


@pytest.mark.parametrize("corrupt", ["{not json", '{"returncode": "4"}', "[]", ""])
def test_a_corrupt_entry_is_ignored_and_written_again(
    scanner: Scanner, tmp_path: Path, corrupt: str
) -> None:
    path = template(tmp_path / "x")
    scan(scanner, path, tmp_path / "cache")
    (entry,) = (tmp_path / "cache" / "scan").glob("*.json")
    entry.write_text(corrupt)
    assert scan(scanner, path, tmp_path / "cache") == (4, f"{path}:1:W0001:one:\n")
    assert runs(tmp_path) == 2
    assert json.loads(entry.read_text())["returncode"] == 4
    scan(scanner, path, tmp_path / "cache")
    assert runs(tmp_path) == 2


def test_an_unfinished_run_is_not_remembered(scanner: Scanner, tmp_path: Path) -> None:
    scanner.executable.write_text(
        f"#!{sys.executable}\nimport os, signal\n"
        "open(os.environ['RUNS'], 'a').write('run\\n')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    path = template(tmp_path / "x")
    assert scan(scanner, path, tmp_path / "cache")[0] < 0
    assert scan(scanner, path, tmp_path / "cache")[0] < 0
    assert runs(tmp_path) == 2
    assert not list((tmp_path / "cache").glob("**/*.json"))


def test_off_runs_the_scanner_every_time(
    scanner: Scanner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VERDICT_CACHE", "off")
    path = template(tmp_path / "x")
    scan(scanner, path, tmp_path / "cache")
    scan(scanner, path, tmp_path / "cache")
    assert runs(tmp_path) == 2
    assert not (tmp_path / "cache").exists()
