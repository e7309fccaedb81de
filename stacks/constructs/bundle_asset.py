"""model.tar.gz as a CDK file asset whose hash is the archive's own sha256."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from aws_cdk import FileAssetPackaging, Stack, Stage
from constructs import Construct

from bundler import Bundle
from stacks.constructs.iam import s3_object_arn


class BundleAsset(Construct):
    """Registers a built bundle with the stack's synthesizer.

    `s3_assets.Asset` with a custom hash would hash the hash again; registering the file
    directly keeps the archive's sha256 as the asset hash and the S3 object key
    (`<sha256>.gz`), so anyone can check a deployed artifact with `sha256sum`, and an
    unchanged model gives an unchanged template. The archive is hard-linked into the cloud
    assembly (copied across file systems), so large models cost no copy per synth.

    Args:
        bundle: the built archive.
    """

    def __init__(self, scope: Construct, id_: str, *, bundle: Bundle) -> None:
        super().__init__(scope, id_)
        stack = Stack.of(self)
        file_name = f"asset.{bundle.sha256}.tar.gz"
        stage_file(bundle.path, Path(Stage.of(self).asset_outdir) / file_name)  # type: ignore[union-attr]
        location = stack.synthesizer.add_file_asset(
            file_name=file_name, packaging=FileAssetPackaging.FILE, source_hash=bundle.sha256
        )
        self.sha256 = bundle.sha256
        self.bucket_name = location.bucket_name
        self.object_key = location.object_key
        self.s3_object_url = location.s3_object_url
        self.object_arn = s3_object_arn(stack, location.bucket_name, location.object_key)


def stage_file(source: Path, target: Path) -> None:
    """Place `source` at `target` by hard link, else by copy; the result appears atomically."""
    if target.exists() and target.stat().st_size == source.stat().st_size:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        try:
            os.link(source, partial)
        except OSError:
            shutil.copyfile(source, partial)
        partial.replace(target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
