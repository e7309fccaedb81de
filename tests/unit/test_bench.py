"""The benchmark's helpers: seeded weights, measured children, project copies, the slope."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from bench.bundling import write_weights
from bench.measure import child, run
from bench.synth import project_copy, slope


def test_weights_are_seeded_float32_of_the_exact_size(tmp_path: Path) -> None:
    write_weights(tmp_path / "a.pt", 1_000_003)
    write_weights(tmp_path / "b.pt", 1_000_003)
    write_weights(tmp_path / "c.pt", 1_000_003, seed=1)
    a = (tmp_path / "a.pt").read_bytes()
    assert len(a) == 1_000_003
    assert a == (tmp_path / "b.pt").read_bytes()
    assert a != (tmp_path / "c.pt").read_bytes()
    values = np.frombuffer(a[:400_000], dtype=np.float32)
    assert abs(float(values.mean())) < 0.05 and 0.9 < float(values.std()) < 1.1


def test_a_child_reports_its_own_time_and_memory(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_weights(folder / "model.pt", 300_000)
    (folder / "inference.py").write_text("def model_fn(d):\n    return d\n")
    sample = run(
        child("bundle", model_dir=str(folder), cache_dir=str(tmp_path / "c"), weights=["model.pt"])
    )
    assert sample.result["cached"] is False and sample.result["bytes"] > 250_000
    assert sample.seconds > 0 and sample.peak_rss_mb > 5
    again = run(
        child("bundle", model_dir=str(folder), cache_dir=str(tmp_path / "c"), weights=["model.pt"])
    )
    assert again.result["cached"] is True


def test_a_failing_child_raises_with_its_error() -> None:
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        run([sys.executable, "-c", "1/0"], timed_by_child=False)


def test_project_copy_has_n_models_and_the_shared_code(tmp_path: Path) -> None:
    copy = project_copy(tmp_path / "p", 3)
    models = sorted(p.name for p in (copy / "models").iterdir() if (p / "config.yaml").is_file())
    assert models == ["model000", "model001", "model002"]
    assert (copy / "app.py").is_file() and (copy / "stacks").is_dir()


def test_slope_is_seconds_per_stack() -> None:
    assert slope([(2, 5.0), (10, 6.0), (40, 9.75)]) == pytest.approx(0.125)
