"""Training under torchrun on two processes: both ranks finish with the same weights."""

from __future__ import annotations

from pathlib import Path

from tests.model_support import rank_digests, run_training


def test_torchrun_on_two_processes_completes_and_the_ranks_agree(tmp_path: Path) -> None:
    result = run_training("iris", tmp_path, "--epochs", "3", nproc=2)
    digests = rank_digests(result.stdout)
    assert sorted(digests) == [0, 1]
    assert digests[0] == digests[1]
    assert "rank 0/2" in result.stdout
    assert (tmp_path / "model" / "model.pt").is_file()
