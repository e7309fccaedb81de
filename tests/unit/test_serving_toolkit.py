"""Finding the serving toolkit in an environment: where its files are, without importing it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ops.serving.toolkit import ServeError, find_toolkit

HANDLER = "sagemaker_pytorch_serving_container"


def environment(tmp_path: Path, *, without: str | None = None) -> Path:
    """A stand-in for .venv-serve: a python that sees only the standard library and a folder
    holding the modules a server's worker imports, each of which raises when imported."""
    site = tmp_path / "site"
    for package in ("torch", "ts", "sagemaker_inference", HANDLER):
        if package != without:
            (site / package).mkdir(parents=True)
            # The toolkit's package is imported to find its submodule (its own is empty).
            body = "" if package == HANDLER else "raise ImportError('imported')\n"
            (site / package / "__init__.py").write_text(body)
    if without != HANDLER:
        (site / HANDLER / "handler_service.py").write_text("raise ImportError('imported')\n")
        (site / HANDLER / "etc").mkdir()
        for name in ("default-ts.properties", "log4j2.xml"):
            if name != without:
                (site / HANDLER / "etc" / name).write_text("")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(f'#!/bin/sh\nPYTHONPATH={site} exec {sys.executable} -S "$@"\n')
    python.chmod(0o755)
    return venv


def test_the_toolkits_files_are_found_without_importing_anything(tmp_path: Path) -> None:
    toolkit = find_toolkit(environment(tmp_path))
    package = tmp_path / "site" / HANDLER
    assert toolkit.handler_service == str(package / "handler_service.py")
    assert toolkit.default_config == str(package / "etc" / "default-ts.properties")
    assert toolkit.log_config == str(package / "etc" / "log4j2.xml")


@pytest.mark.parametrize(
    ("without", "says"),
    [
        ("torch", "not installed: torch"),
        ("ts", "not installed: ts"),
        (HANDLER, f"not installed: {HANDLER}.handler_service"),
        ("log4j2.xml", "missing from the toolkit: "),
    ],
)
def test_what_the_environment_lacks_is_named(tmp_path: Path, without: str, says: str) -> None:
    with pytest.raises(ServeError, match="recreate it with `make serve-setup`") as refused:
        find_toolkit(environment(tmp_path, without=without))
    assert says in str(refused.value)


def test_a_missing_environment_says_how_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(ServeError, match="create it with `make serve-setup`"):
        find_toolkit(tmp_path / "absent")
