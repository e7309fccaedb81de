"""The bundler: SageMaker's layout, byte-reproducible, cached by content, and safe."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import tarfile
from pathlib import Path
from typing import IO

import pytest

from bundler import BundleError, BundleSpec, build
from bundler.archive import write_archive
from bundler.layout import Entry, collect


def make_model(root: Path, name: str = "net") -> BundleSpec:
    folder = root / "models" / name
    (folder / "data").mkdir(parents=True)
    (folder / "model.pt").write_bytes(os.urandom(200_000))
    (folder / "inference.py").write_text("def model_fn(d):\n    return d\n")
    (folder / "model.py").write_text("class Net: ...\n")
    (folder / "requirements.txt").write_text("")
    (folder / "config.yaml").write_text("not: bundled\n")
    (folder / "data" / "train.csv").write_text("1,2\n")
    shared = root / "models" / "kit"
    (shared / "sub").mkdir(parents=True)
    (shared / "__init__.py").write_text("")
    (shared / "sub" / "util.py").write_text("X = 1\n")
    return BundleSpec(model_dir=folder, weights=("model.pt",), shared=(shared,))


def members(path: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(path) as tar:
        return {m.name: m for m in tar.getmembers()}


def test_layout_is_sagemakers_pytorch_layout(tmp_path: Path) -> None:
    bundle = build(make_model(tmp_path), tmp_path / "cache")
    names = list(members(bundle.path))
    assert names == sorted(names)
    assert set(names) == {
        "model.pt",
        "code",
        "code/inference.py",
        "code/model.py",
        "code/requirements.txt",
        "code/kit",
        "code/kit/__init__.py",
        "code/kit/sub",
        "code/kit/sub/util.py",
    }
    assert bundle.files == 6


def test_entries_are_normalised(tmp_path: Path) -> None:
    spec = make_model(tmp_path)
    (spec.model_dir / "model.py").chmod(0o700)
    for info in members(build(spec, tmp_path / "cache").path).values():
        assert (info.mtime, info.uid, info.gid, info.uname, info.gname) == (0, 0, 0, "", "")
        assert info.mode in (0o644, 0o755)
    with gzip.open(build(spec, tmp_path / "cache").path) as handle:
        handle.read(1)
    raw = build(spec, tmp_path / "cache").path.read_bytes()
    assert raw[4:8] == b"\0\0\0\0", "gzip header must carry no mtime"
    assert raw[3] & 0x08 == 0, "gzip header must carry no file name"


def test_same_inputs_give_the_same_bytes_whatever_mtimes_owners_and_order(tmp_path: Path) -> None:
    first = make_model(tmp_path / "a")
    second_root = tmp_path / "b"
    # Copy in reverse order so directory order on disk differs, then change mtimes and owners.
    for src in sorted((tmp_path / "a").rglob("*"), reverse=True):
        dst = second_root / src.relative_to(tmp_path / "a")
        if src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
    for path in second_root.rglob("*"):
        os.utime(path, (1_234_567_890, 1_234_567_890))
        if os.geteuid() == 0:
            os.chown(path, 4321, 4321)
    second = BundleSpec(
        model_dir=second_root / "models" / "net",
        weights=("model.pt",),
        shared=(second_root / "models" / "kit",),
    )
    a = build(first, tmp_path / "cache-a")
    b = build(second, tmp_path / "cache-b")
    assert a.sha256 == b.sha256
    assert a.path.read_bytes() == b.path.read_bytes()


def test_output_does_not_depend_on_the_thread_count(tmp_path: Path) -> None:
    entries = collect(make_model(tmp_path))
    outputs = set()
    for threads in (1, 2, 4):
        buffer = io.BytesIO()
        write_archive(entries, buffer, threads=threads)
        outputs.add(buffer.getvalue())
    assert len(outputs) == 1


def _tarfile_archive(entries: list[Entry], threads: int) -> bytes:
    """The archive as tarfile's own stream writer would make it, through the same compressor."""
    from bundler.archive import BLOCK_SIZE, HashingWriter, _directories, _info, _open_gzip

    buffer = io.BytesIO()
    gz = _open_gzip(HashingWriter(buffer), threads)
    members = sorted(
        [(name + "/", None) for name in _directories(entries)]
        + [(entry.arcname, entry) for entry in entries],
        key=lambda pair: pair[0],
    )
    with tarfile.open(fileobj=gz, mode="w|", format=tarfile.PAX_FORMAT, bufsize=BLOCK_SIZE) as tar:
        for name, entry in members:
            if entry is None:
                tar.addfile(_info(name.rstrip("/"), directory=True))
                continue
            info = _info(name, size=entry.source.stat().st_size, executable=entry.executable)
            with entry.source.open("rb") as source:
                tar.addfile(info, source)
    gz.close()
    return buffer.getvalue()


@pytest.mark.parametrize(
    "sizes",
    [
        {"model.pt": 0, "code/inference.py": 1},
        # header + data end exactly on a 4 MiB block, then one byte over, then one short
        {"model.pt": (4 << 20) - 1024 - 512},
        {"model.pt": (4 << 20) - 1024 - 511, "code/a.py": 511},
        {"a.bin": 4 << 20, "b.bin": (8 << 20) + 1, "c.bin": 512, "code/" + "n" * 150 + ".py": 3},
        {"ünï/cödé.py": 100, "deep/a/b/c.txt": 10_000},
    ],
)
def test_tar_stream_is_the_one_tarfile_writes(tmp_path: Path, sizes: dict[str, int]) -> None:
    """The bundler writes the tar stream itself (one pass over the data instead of tarfile's
    five); the archive must stay byte for byte what tarfile's stream mode gives."""
    entries = []
    for index, (arcname, size) in enumerate(sorted(sizes.items())):
        source = tmp_path / "src" / str(index)
        source.parent.mkdir(exist_ok=True)
        source.write_bytes(os.urandom(size))
        entries.append(Entry(arcname, source, executable=arcname.endswith(".py")))
    buffer = io.BytesIO()
    write_archive(entries, buffer, threads=2)
    assert buffer.getvalue() == _tarfile_archive(entries, threads=2)


def test_reported_sha256_is_the_archives(tmp_path: Path) -> None:
    import hashlib

    bundle = build(make_model(tmp_path), tmp_path / "cache")
    assert hashlib.sha256(bundle.path.read_bytes()).hexdigest() == bundle.sha256
    assert bundle.size == bundle.path.stat().st_size


def test_extracted_files_equal_the_sources(tmp_path: Path) -> None:
    spec = make_model(tmp_path)
    bundle = build(spec, tmp_path / "cache")
    out = tmp_path / "out"
    with tarfile.open(bundle.path) as tar:
        tar.extractall(out, filter="data")
    assert (out / "model.pt").read_bytes() == (spec.model_dir / "model.pt").read_bytes()
    assert (out / "code" / "kit" / "sub" / "util.py").read_text() == "X = 1\n"
    assert not (out / "code" / "config.yaml").exists()
    assert not (out / "code" / "data").exists()


def test_unchanged_model_is_not_packed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = make_model(tmp_path)
    first = build(spec, tmp_path / "cache")
    assert not first.cached

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("packed again")

    monkeypatch.setattr("bundler.cache.write_archive", fail)
    second = build(spec, tmp_path / "cache")
    assert second.cached and second.sha256 == first.sha256


def test_any_changed_byte_gives_a_new_bundle(tmp_path: Path) -> None:
    spec = make_model(tmp_path)
    first = build(spec, tmp_path / "cache")
    weights = spec.model_dir / "model.pt"
    data = bytearray(weights.read_bytes())
    data[100_000] ^= 0xFF
    stat = weights.stat()
    weights.write_bytes(bytes(data))
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size and mtime
    second = build(spec, tmp_path / "cache")
    assert not second.cached and second.sha256 != first.sha256


def test_interrupted_build_leaves_nothing_to_reuse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = make_model(tmp_path)
    cache = tmp_path / "cache"

    def crash(entries: object, raw: IO[bytes], **kwargs: object) -> None:
        raw.write(b"half an archive")
        raise KeyboardInterrupt

    monkeypatch.setattr("bundler.cache.write_archive", crash)
    with pytest.raises(KeyboardInterrupt):
        build(spec, cache)
    assert [p.name for p in cache.iterdir() if p.name not in {"digests.json", ".lock"}] == []
    monkeypatch.undo()
    bundle = build(spec, cache)
    assert not bundle.cached
    with tarfile.open(bundle.path) as tar:
        assert "model.pt" in tar.getnames()


def test_archive_without_metadata_is_rebuilt(tmp_path: Path) -> None:
    spec = make_model(tmp_path)
    cache = tmp_path / "cache"
    first = build(spec, cache)
    for meta in cache.glob("[0-9a-f]*.json"):
        meta.unlink()
    first.path.write_bytes(b"corrupt")
    second = build(spec, cache)
    assert not second.cached and second.sha256 == first.sha256


@pytest.mark.parametrize("name", [".env", "server.pem", "credentials.json", "id_rsa"])
def test_secret_looking_files_are_refused(tmp_path: Path, name: str) -> None:
    spec = make_model(tmp_path)
    (spec.shared[0] / name).write_text("secret")
    with pytest.raises(BundleError, match=f"{name}: looks like a secret"):
        build(spec, tmp_path / "cache")


def test_symlink_leaving_the_folder_is_refused(tmp_path: Path) -> None:
    spec = make_model(tmp_path)
    outside = tmp_path / "outside.py"
    outside.write_text("stolen = True\n")
    (spec.model_dir / "link.py").symlink_to(outside)
    with pytest.raises(BundleError, match=r"link.py: is a symlink to .*outside"):
        build(spec, tmp_path / "cache")


def test_symlink_inside_the_folder_is_bundled_as_a_file(tmp_path: Path) -> None:
    spec = make_model(tmp_path)
    (spec.model_dir / "alias.py").symlink_to(spec.model_dir / "model.py")
    info = members(build(spec, tmp_path / "cache").path)["code/alias.py"]
    assert info.isfile() and info.size == len("class Net: ...\n")


def test_symlink_loop_is_a_clear_error(tmp_path: Path) -> None:
    spec = make_model(tmp_path)
    (spec.model_dir / "a.py").symlink_to(spec.model_dir / "b.py")
    (spec.model_dir / "b.py").symlink_to(spec.model_dir / "a.py")
    with pytest.raises(BundleError, match=r"a\.py: symlink loop"):
        build(spec, tmp_path / "cache")


def test_build_litter_is_skipped(tmp_path: Path) -> None:
    spec = make_model(tmp_path)
    for litter in ("__pycache__/model.cpython-311.pyc", ".ipynb_checkpoints/x.py", ".git/x.py"):
        path = spec.model_dir / litter
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    (spec.shared[0] / "__pycache__").mkdir()
    (spec.shared[0] / "__pycache__" / "x.pyc").write_bytes(b"")
    names = members(build(spec, tmp_path / "cache").path)
    assert not any("__pycache__" in n or "checkpoints" in n or ".git" in n for n in names)


def test_missing_weights_file(tmp_path: Path) -> None:
    spec = make_model(tmp_path)
    (spec.model_dir / "model.pt").unlink()
    with pytest.raises(BundleError, match=r"model\.pt: weights file does not exist"):
        build(spec, tmp_path / "cache")
