"""The benchmark's quick run end to end: bundling, the CDK CLI's synth and both baselines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_quick_benchmark_prints_both_tables_and_every_target(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--workdir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "sagemaker SDK create_tar_file" in out and "bundler (cache hit)" in out
    assert "cdk synth --quiet" in out and "per-stack slope" in out
    # Both CDK baselines ran (the baseline app checks it made one stack per model and env).
    assert "as many stacks of one resource each" in out
    assert "the project's templates of 1 model included" in out
    for target in ("the SDK's throughput", "archive size", "cache hit at", "peak RSS bundling"):
        assert any(
            line.startswith(("PASS", "FAIL")) and target in line for line in out.splitlines()
        ), target
