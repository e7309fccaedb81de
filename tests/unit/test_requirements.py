"""code/requirements.txt as the serving container's pip reads it: what it lists, and what a
bundle's code/ already satisfies. The rule is checked against pip itself: what `unvendored`
calls satisfied, `pip install --no-index -r` (no network, code/ on PYTHONPATH, as the toolkit
runs it) installs nothing for; what it calls missing, pip fails on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bundler.requirements import folder_files, listed, unvendored
from tests.conftest import ROOT
from tests.model_support import MODELS


def code_dir(tmp_path: Path, requirements: str, *vendored: tuple[str, str]) -> Path:
    """A bundle's code/ with this requirements.txt and these (name, version) vendored as
    `pip install --target` leaves them: the package and its .dist-info at the top."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "requirements.txt").write_text(requirements)
    for name, version in vendored:
        (code / name).mkdir()
        (code / name / "__init__.py").write_text("")
        info = code / f"{name}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return code


def missing(code: Path) -> list[str]:
    return [item.text for item in unvendored(folder_files(code))]


@pytest.mark.parametrize("model", MODELS)
def test_the_example_models_list_nothing(model: str) -> None:
    """Their requirements.txt is comments only: pip installs nothing and needs no network."""
    files = {"requirements.txt": ROOT / "models" / model / "requirements.txt"}
    assert listed(files) == []


def test_pip_file_syntax(tmp_path: Path) -> None:
    code = code_dir(
        tmp_path,
        "# a comment\n"
        "\n"
        "--index-url https://example.com/simple\n"
        "-c constraints.txt\n"
        "tinypkg==1.0  # pinned\n"
        "other\\\n"
        ">=2\n"
        "-r more/extra.txt\n"
        "-e ./local\n"
        "https://example.com/x.whl\n"
        "marked; python_version < '3.8'\n",
    )
    (code / "more").mkdir()
    (code / "more" / "extra.txt").write_text("nested[fast]>1 --hash=sha256:00\n")
    found = [(item.file, item.line, item.text) for item in listed(folder_files(code))]
    assert found == [
        ("requirements.txt", 5, "tinypkg==1.0"),
        ("requirements.txt", 6, "other>=2"),
        ("more/extra.txt", 1, "nested[fast]>1 --hash=sha256:00"),
        ("requirements.txt", 9, "-e ./local"),
        ("requirements.txt", 10, "https://example.com/x.whl"),
        ("requirements.txt", 11, "marked; python_version < '3.8'"),
    ]


def test_an_include_that_is_not_in_the_bundle_counts_as_missing(tmp_path: Path) -> None:
    assert missing(code_dir(tmp_path, "-r elsewhere.txt\n")) == ["-r elsewhere.txt"]


def test_vendored_packages_satisfy_their_lines(tmp_path: Path) -> None:
    code = code_dir(
        tmp_path,
        "Tiny_Pkg>=1.0,<2\nother==2.0\nabsent\nhttps://example.com/x.whl\n",
        ("tiny_pkg", "1.5"),
        ("other", "3.0"),
    )
    assert missing(code) == ["other==2.0", "absent", "https://example.com/x.whl"]


def test_egg_info_counts_as_installed(tmp_path: Path) -> None:
    code = code_dir(tmp_path, "legacy\n")
    (code / "legacy.egg-info").mkdir()
    (code / "legacy.egg-info" / "PKG-INFO").write_text("Name: legacy\nVersion: 0.1\n")
    assert missing(code) == []


def test_no_requirements_file_lists_nothing(tmp_path: Path) -> None:
    assert unvendored({}) == []


def _pip(code: Path) -> subprocess.CompletedProcess[str]:
    """The toolkit's install step with no index (as under network isolation)."""
    env = {**os.environ, "PYTHONPATH": str(code), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-index",
            "--dry-run",
            "-r",
            str(code / "requirements.txt"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("requirements", "vendored"),
    [
        ("tinypkg==1.0\n", [("tinypkg", "1.0")]),
        ("tinypkg>=2\n", [("tinypkg", "1.0")]),
        ("tinypkg\nabsentpkg\n", [("tinypkg", "1.0")]),
        ("# nothing\n", []),
    ],
)
def test_pip_agrees(tmp_path: Path, requirements: str, vendored: list[tuple[str, str]]) -> None:
    code = code_dir(tmp_path, requirements, *vendored)
    result = _pip(code)
    assert (result.returncode == 0) == (missing(code) == []), result.stdout + result.stderr
    assert "Would install" not in result.stdout
