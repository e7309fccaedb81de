"""The evaluation cache: a pair of bundles evaluated before is read back, answer for answer; a
changed bundle, request or serving environment is evaluated again; a failed evaluation is not
kept; no folder, no cache."""

from __future__ import annotations

from pathlib import Path

from ops.evaluation.cache import cached
from ops.evaluation.evaluate import Answer, Evaluation, Job, Request

REQUEST = Request(b'{"instances": [[1, 2, 3, 4]]}', "application/json", "application/json")


class Evaluator:
    """Stands in for `side_by_side`: counts its runs, answers with the run number."""

    def __init__(self, *, error: str | None = None) -> None:
        self.runs = 0
        self.error = error

    def __call__(self) -> list[Evaluation]:
        self.runs += 1
        answer = Answer(
            200, "application/json", f'{{"run": {self.runs}}}'.encode(), 0.01 * self.runs
        )
        return [Evaluation(answers=(answer,), load_seconds=1.5, error=self.error)] * 2


def jobs(tmp_path: Path, *, head: bytes = b"head", request: Request = REQUEST) -> list[Job]:
    (tmp_path / "base.tar.gz").write_bytes(b"base")
    (tmp_path / "head.tar.gz").write_bytes(head)
    return [
        Job(tmp_path / "base.tar.gz", "inference.py", (request,)),
        Job(tmp_path / "head.tar.gz", "inference.py", (request,)),
    ]


def venv(tmp_path: Path, *packages: str) -> Path:
    folder = tmp_path / "venv"
    for package in packages:
        (folder / "lib" / "python3.12" / "site-packages" / f"{package}.dist-info").mkdir(
            parents=True, exist_ok=True
        )
    return folder


def test_the_same_bundles_are_read_back_not_evaluated_again(tmp_path: Path) -> None:
    evaluator, env, store = Evaluator(), venv(tmp_path, "torchserve-0.12.0"), tmp_path / "cache"
    first, hit = cached(jobs(tmp_path), venv=env, directory=store, evaluate=evaluator)
    assert not hit
    second, hit = cached(jobs(tmp_path), venv=env, directory=store, evaluate=evaluator)
    assert hit and evaluator.runs == 1
    assert second == first  # bodies, statuses and latencies as measured together


def test_a_changed_bundle_request_or_environment_is_evaluated_again(tmp_path: Path) -> None:
    evaluator, store = Evaluator(), tmp_path / "cache"
    env = venv(tmp_path, "torchserve-0.12.0")
    cached(jobs(tmp_path), venv=env, directory=store, evaluate=evaluator)
    cached(jobs(tmp_path, head=b"retrained"), venv=env, directory=store, evaluate=evaluator)
    other = Request(b'{"instances": []}', "application/json", "application/json")
    cached(jobs(tmp_path, request=other), venv=env, directory=store, evaluate=evaluator)
    upgraded = venv(tmp_path, "torchserve-0.13.0")
    _, hit = cached(jobs(tmp_path), venv=upgraded, directory=store, evaluate=evaluator)
    assert not hit and evaluator.runs == 4


def test_a_failed_evaluation_is_not_kept(tmp_path: Path) -> None:
    failing, store, env = (
        Evaluator(error="the model did not load"),
        tmp_path / "cache",
        venv(tmp_path),
    )
    cached(jobs(tmp_path), venv=env, directory=store, evaluate=failing)
    _, hit = cached(jobs(tmp_path), venv=env, directory=store, evaluate=failing)
    assert not hit and failing.runs == 2


def test_no_folder_no_cache(tmp_path: Path) -> None:
    evaluator, env = Evaluator(), venv(tmp_path)
    for _ in range(2):
        _, hit = cached(jobs(tmp_path), venv=env, directory=None, evaluate=evaluator)
        assert not hit
    assert evaluator.runs == 2


def test_a_damaged_entry_is_evaluated_again(tmp_path: Path) -> None:
    evaluator, env, store = Evaluator(), venv(tmp_path), tmp_path / "cache"
    cached(jobs(tmp_path), venv=env, directory=store, evaluate=evaluator)
    for entry in store.glob("*.json"):
        entry.write_text("{not json")
    _, hit = cached(jobs(tmp_path), venv=env, directory=store, evaluate=evaluator)
    assert not hit and evaluator.runs == 2


def test_a_folder_bundle_is_known_again_after_its_handler_was_imported(tmp_path: Path) -> None:
    """An extracted bundle (an uncompressed model asset) is evaluated in place, and Python
    writes the handler's bytecode into it: that is not a new bundle. A changed file is."""
    folder = tmp_path / "asset.0123"
    (folder / "code").mkdir(parents=True)
    (folder / "code" / "inference.py").write_text("def model_fn(model_dir): ...\n")
    (folder / "model.pt").write_bytes(b"weights")
    (tmp_path / "base.tar.gz").write_bytes(b"base")
    folder_jobs = [
        Job(tmp_path / "base.tar.gz", "inference.py", (REQUEST,)),
        Job(folder, "inference.py", (REQUEST,)),
    ]
    evaluator, env, store = Evaluator(), venv(tmp_path), tmp_path / "cache"
    cached(folder_jobs, venv=env, directory=store, evaluate=evaluator)
    (folder / "code" / "__pycache__").mkdir()
    (folder / "code" / "__pycache__" / "inference.cpython-311.pyc").write_bytes(b"\x00bytecode")
    _, hit = cached(folder_jobs, venv=env, directory=store, evaluate=evaluator)
    assert hit and evaluator.runs == 1
    (folder / "model.pt").write_bytes(b"retrained")
    _, hit = cached(folder_jobs, venv=env, directory=store, evaluate=evaluator)
    assert not hit and evaluator.runs == 2
