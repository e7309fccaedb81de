"""Injected faults: each ends in a clear BundleError or a correct bundle, never a bad cache entry.

A build killed with SIGKILL mid-write, a read-only cache (a read-only bind mount in a private
mount namespace: tests run as root, so permissions alone would not stop a write), a full disk
(a 2 MiB tmpfs in a private mount namespace), weights that grow, shrink or change while being
packed, a 4 GiB sparse weights file streamed in bounded memory, and symlink loops.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bundler import BundleError, BundleSpec, build
from tests.conftest import ROOT

MiB = 1 << 20


def make_model(root: Path, weights: bytes = b"") -> BundleSpec:
    folder = root / "model"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.pt").write_bytes(weights or os.urandom(256 * 1024))
    (folder / "inference.py").write_text("def model_fn(d):\n    return d\n")
    return BundleSpec(model_dir=folder, weights=("model.pt",), code=("*.py",))


def archives(cache: Path) -> list[str]:
    """What a later build could reuse: archives and their metadata."""
    return sorted(
        p.name
        for p in cache.glob("*")
        if p.name.endswith((".tar.gz", ".json")) and p.name != "digests.json"
    )


# A child that builds the bundle of `model_dir` into `cache` and prints one JSON line. Faults
# are set up around it (mount namespaces) or inside it (a write that stalls).
CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    sys.path.insert(0, {root!r})
    from pathlib import Path
    from bundler import BundleError, BundleSpec, build
    import bundler.archive as archive

    if os.environ.get("STALL_AFTER_BYTES"):
        limit = int(os.environ["STALL_AFTER_BYTES"])
        write = archive.HashingWriter.write
        def stalling(self, data):
            written = write(self, data)
            if self.size >= limit:
                self.raw.flush()
                print("WRITING", flush=True)
                time.sleep(600)
            return written
        archive.HashingWriter.write = stalling

    spec = BundleSpec(model_dir=Path(sys.argv[1]), weights=("model.pt",), code=("*.py",))
    try:
        bundle = build(spec, Path(sys.argv[2]))
        result = {{"sha256": bundle.sha256, "size": bundle.size, "path": str(bundle.path)}}
    except BundleError as error:
        result = {{"error": str(error)}}
    # VmHWM: this process image's peak RSS. (ru_maxrss is not: Linux carries the parent's
    # high-water mark across fork and exec, so it reports the size of the test runner.)
    with open("/proc/self/status") as status:
        hwm = next(line for line in status if line.startswith("VmHWM:"))
    result["maxrss_kib"] = int(hwm.split()[1])
    result["cache"] = sorted(os.listdir(sys.argv[2])) if os.path.isdir(sys.argv[2]) else None
    print("RESULT " + json.dumps(result), flush=True)
    """
).format(root=str(ROOT))


def child_command(model_dir: Path, cache: Path) -> list[str]:
    return [sys.executable, "-c", CHILD, str(model_dir), str(cache)]


def run_child(command: list[str], **env: str) -> dict[str, Any]:
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", **env},
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    parsed: dict[str, Any] = json.loads(lines[-1].removeprefix("RESULT "))
    return parsed


def in_mount_namespace(setup: str, command: list[str]) -> list[str]:
    """`command` in a private mount namespace after the shell commands in `setup`."""
    quoted = " ".join(f"'{part}'" for part in command[3:])
    script = f'{setup} && exec "{sys.executable}" -c "$CHILD" {quoted}'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]


@pytest.fixture(scope="module")
def mount_namespaces() -> None:
    """Skip, with the reason, where private mount namespaces are not available."""
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        pytest.skip("unshare/mount not installed: cannot make a read-only or full file system")
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "mount", "-t", "tmpfs", "tmpfs", "/mnt"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if probe.returncode != 0:
        pytest.skip(f"no private mount namespace here ({probe.stderr.strip()})")


# --- killed midway -------------------------------------------------------------------------------


def test_build_killed_midway_leaves_no_archive_and_the_next_build_succeeds(tmp_path: Path) -> None:
    spec = make_model(tmp_path, os.urandom(8 * MiB))
    cache = tmp_path / "cache"
    process = subprocess.Popen(
        child_command(spec.model_dir, cache),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "STALL_AFTER_BYTES": str(2 * MiB)},
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "WRITING"
        partials = list(cache.glob(".*.partial"))
        assert partials and partials[0].stat().st_size >= 2 * MiB  # really mid-write
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert archives(cache) == []  # nothing a later build could mistake for a bundle
    again = build(spec, cache)
    assert not again.cached
    fresh = build(spec, tmp_path / "fresh-cache")
    assert again.sha256 == fresh.sha256
    assert archives(cache) == sorted(
        [again.path.name, again.path.name[: -len(".tar.gz")] + ".json"]
    )
    assert list(cache.glob(".*.partial")) == []  # the dead build's partial was swept


def test_partials_nobody_holds_are_swept_and_held_ones_are_left(tmp_path: Path) -> None:
    import fcntl

    spec = make_model(tmp_path)
    cache = tmp_path / "cache"
    cache.mkdir()
    dead_file = cache / ".bundle.dead.partial"
    dead_dir = cache / ".stage.dead.partial"
    live = cache / ".bundle.live.partial"
    dead_file.write_bytes(b"\0" * 1024)
    (dead_dir / "code").mkdir(parents=True)
    live.write_bytes(b"\0" * 1024)
    holder = os.open(live, os.O_RDONLY)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)  # as a build writing it right now holds it
        build(spec, cache)
        assert not dead_file.exists() and not dead_dir.exists()
        assert live.exists()
    finally:
        os.close(holder)
    build(spec, cache)  # once its writer is gone, the next build removes it
    assert not live.exists()


# --- read-only cache, full disk ---------------------------------------------------------------


def test_read_only_cache_is_a_clear_error(tmp_path: Path, mount_namespaces: None) -> None:
    spec = make_model(tmp_path)
    cache = tmp_path / "cache"
    cache.mkdir()
    setup = f"mount --bind '{cache}' '{cache}' && mount -o remount,bind,ro '{cache}'"
    command = in_mount_namespace(setup, child_command(spec.model_dir, cache))
    result = run_child(command, CHILD=CHILD)
    assert "error" in result, result
    assert f"the bundle cache {cache} is not writable" in result["error"]
    assert archives(cache) == []


def test_read_only_cache_that_already_holds_the_bundle_is_still_an_error_not_a_half_write(
    tmp_path: Path, mount_namespaces: None
) -> None:
    spec = make_model(tmp_path)
    cache = tmp_path / "cache"
    built = build(spec, cache)
    before = {p.name: p.read_bytes() for p in cache.iterdir()}
    setup = f"mount --bind '{cache}' '{cache}' && mount -o remount,bind,ro '{cache}'"
    result = run_child(in_mount_namespace(setup, child_command(spec.model_dir, cache)), CHILD=CHILD)
    assert "not writable" in result.get("error", ""), result
    assert {p.name: p.read_bytes() for p in cache.iterdir()} == before
    assert build(spec, cache).sha256 == built.sha256


def test_full_disk_is_a_clear_error_and_leaves_nothing(
    tmp_path: Path, mount_namespaces: None
) -> None:
    # Random bytes do not compress: a 6 MiB bundle cannot fit in 2 MiB.
    spec = make_model(tmp_path, os.urandom(6 * MiB))
    cache = tmp_path / "cache"
    cache.mkdir()
    setup = f"mount -t tmpfs -o size=2m tmpfs '{cache}'"
    result = run_child(in_mount_namespace(setup, child_command(spec.model_dir, cache)), CHILD=CHILD)
    assert "error" in result, result
    assert f"{spec.model_dir}: cannot write the bundle to {cache}" in result["error"]
    assert "No space left on device" in result["error"]
    # Seen from inside the full file system: no archive, no partial file left behind (the
    # memo and the empty lock file that guards partials may be there).
    assert [n for n in result["cache"] if n not in {"digests.json", ".lock"}] == []


# --- weights that change while being packed ---------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.open("ab").write(b"more"), "changed while being bundled"),
        (lambda f: os.truncate(f, 1000), "shrank while being bundled"),
    ],
    ids=["grows", "shrinks"],
)
def test_weights_changing_while_bundled_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: Any, message: str
) -> None:
    import bundler.archive as archive

    spec = make_model(tmp_path, os.urandom(2 * MiB))
    weights = spec.model_dir / "model.pt"
    info = archive._info
    changed: list[str] = []

    def change_once(name: str, **kwargs: Any) -> Any:
        # Called after the file was opened and measured, before its bytes are copied.
        if name == "model.pt" and not changed:
            change(weights)
            changed.append(name)
        return info(name, **kwargs)

    monkeypatch.setattr(archive, "_info", change_once)
    cache = tmp_path / "cache"
    with pytest.raises(BundleError, match=message) as raised:
        build(spec, cache)
    assert str(weights) in str(raised.value)
    assert archives(cache) == [] and not list(cache.glob(".*.partial"))

    monkeypatch.setattr(archive, "_info", info)
    settled = build(spec, cache)
    assert settled.sha256 == build(spec, tmp_path / "fresh-cache").sha256


def test_weights_rewritten_in_place_between_hash_and_pack_are_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same size, new bytes: the mtime the digest was taken at no longer matches."""
    import bundler.cache as cache_module
    from bundler.archive import write_archive

    spec = make_model(tmp_path, os.urandom(MiB))
    weights = spec.model_dir / "model.pt"

    def rewrite_then_write(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.01)
        weights.write_bytes(os.urandom(MiB))
        return write_archive(*args, **kwargs)

    monkeypatch.setattr(cache_module, "write_archive", rewrite_then_write)
    with pytest.raises(BundleError, match="changed while being bundled"):
        build(spec, tmp_path / "cache")


# --- a 4 GiB sparse file ----------------------------------------------------------------------


def tmpfs_mount(path: Path) -> bool:
    """Whether `path` is the mount point of a tmpfs (as /proc/mounts lists it)."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return False
    return any(fields[1] == str(path) and fields[2] == "tmpfs" for fields in map(str.split, mounts))


@pytest.fixture
def holes_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder where reading a hole costs no page cache: on tmpfs (/dev/shm), where a read of
    a hole is served from the kernel's zero page, where it can be had. On ext4 the kernel fills
    and zeroes a page-cache page for every hole read: 4 GiB of it took 4.6 CPU-seconds of the
    test's ~10 here and left 4 GiB of page cache behind. The bundler reads the same bytes
    either way; elsewhere the test's own folder is used."""
    shm = Path("/dev/shm")
    if not (tmpfs_mount(shm) and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="bundler-holes-", dir=shm))
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def test_four_gib_sparse_weights_stream_in_bounded_memory(
    tmp_path: Path, holes_folder: Path
) -> None:
    folder = holes_folder / "model"
    folder.mkdir()
    with (folder / "model.pt").open("wb") as handle:
        handle.truncate(4 << 30)  # 4 GiB of holes: no disk used, every byte still read
    (folder / "inference.py").write_text("def model_fn(d):\n    return d\n")
    cache = tmp_path / "cache"
    started = time.perf_counter()
    result = run_child(child_command(folder, cache))
    seconds = time.perf_counter() - started
    assert "error" not in result, result
    peak_mib = result["maxrss_kib"] / 1024
    print(f"\n4 GiB sparse weights: bundled in {seconds:.1f} s, peak RSS {peak_mib:.0f} MiB")
    assert peak_mib < 200
    import tarfile

    with tarfile.open(result["path"], "r|gz") as tar:
        # Members are sorted, weights last; stop at its header rather than inflate 4 GiB.
        weights = next(m for m in tar if m.name == "model.pt")
    assert weights.size == 4 << 30


# --- symlink loops -------------------------------------------------------------------------------


def test_symlink_loop_among_code_files_is_a_clear_error(tmp_path: Path) -> None:
    spec = make_model(tmp_path)
    (spec.model_dir / "a.py").symlink_to("b.py")
    (spec.model_dir / "b.py").symlink_to("a.py")
    with pytest.raises(BundleError, match=r"a\.py: symlink loop|a\.py: cannot be read"):
        build(spec, tmp_path / "cache")


def test_weights_that_are_a_self_loop_is_a_clear_error(tmp_path: Path) -> None:
    spec = make_model(tmp_path)
    (spec.model_dir / "model.pt").unlink()
    (spec.model_dir / "model.pt").symlink_to("model.pt")
    with pytest.raises(BundleError, match=r"model\.pt: (symlink loop|cannot be read)"):
        build(spec, tmp_path / "cache")


def test_folder_symlinked_to_its_parent_is_not_walked_forever(tmp_path: Path) -> None:
    spec = make_model(tmp_path)
    shared = tmp_path / "kit"
    (shared / "sub").mkdir(parents=True)
    (shared / "__init__.py").write_text("")
    (shared / "sub" / "up").symlink_to("..")
    spec = BundleSpec(
        model_dir=spec.model_dir, weights=spec.weights, code=spec.code, shared=(shared,)
    )
    with pytest.raises(BundleError, match=r"sub/up: symlinked folders are not bundled"):
        build(spec, tmp_path / "cache")
    loop_in_code = spec.model_dir / "pkg"
    loop_in_code.mkdir()
    (loop_in_code / "again").symlink_to(loop_in_code)
    code_spec = BundleSpec(model_dir=spec.model_dir, weights=spec.weights, code=("**/*.py",))
    with pytest.raises(BundleError, match=r"pkg/again: symlinked folders are not bundled"):
        build(code_spec, tmp_path / "cache")
