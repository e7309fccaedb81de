"""The training code archive reads only its own model's folder (and the shared ones), not every
sibling under models/ once per model: same entries, no quadratic walk."""

from __future__ import annotations

from pathlib import Path

import pytest

from bundler.layout import BundleError, BundleSpec, collect


def _models(root: Path) -> Path:
    models = root / "models"
    for name in ("alpha", "beta"):
        (models / name / "sub").mkdir(parents=True)
        (models / name / "train.py").write_text("print('train')\n")
        (models / name / "sub" / "util.py").write_text("X = 1\n")
        (models / name / "model.pt").write_bytes(b"w")
    (models / "lib").mkdir()
    (models / "lib" / "__init__.py").write_text("")
    return models


def test_literal_folders_give_the_same_entries_as_a_full_walk(tmp_path: Path) -> None:
    models = _models(tmp_path)
    narrowed = BundleSpec(
        models, (), code=("alpha/*.py", "alpha/**/*.py"), shared=(models / "lib",)
    )
    names = [e.arcname for e in collect(narrowed)]
    assert names == [
        "code/alpha/sub/util.py",
        "code/alpha/train.py",
        "code/lib/__init__.py",
    ]
    # A pattern that could match anywhere still walks everything.
    everywhere = BundleSpec(models, (), code=("**/train.py",))
    assert [e.arcname for e in collect(everywhere)] == [
        "code/alpha/train.py",
        "code/beta/train.py",
    ]


def test_another_models_folder_is_not_read(tmp_path: Path) -> None:
    models = _models(tmp_path)
    # A symlinked folder in the sibling: any walk that enters the sibling refuses it.
    (models / "beta" / "sub" / "loop").symlink_to(models / "beta", target_is_directory=True)
    spec = BundleSpec(models, (), code=("alpha/*.py",))
    assert [e.arcname for e in collect(spec)] == ["code/alpha/train.py"]
    with pytest.raises(BundleError, match="symlinked folders are not bundled"):
        collect(BundleSpec(models, (), code=("*/*.py",)))
