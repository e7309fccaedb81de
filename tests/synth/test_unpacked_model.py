"""Uncompressed model data (`artifact.compression: none`): the staged directory, the template
(ModelDataSource S3Prefix, the upload to one prefix, a role that reads exactly that prefix),
the config errors for what SageMaker excludes, and the default staying compressed."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from bundler import BundleSpec, build
from bundler.staging import MANIFEST, files, stage
from configs.errors import ConfigError
from configs.loader import load_project
from stacks.constructs.unpacked_model import EPHEMERAL_MAX_MIB, ephemeral_mib, fits, memory_mib
from tests.conftest import Synthesized, copy_project, synthesize, write_yaml
from tests.templates import assert_cfn_lint_clean, only, resources, statements_by_sid

MODEL = "AWS::SageMaker::Model"
UPLOAD = "Custom::CDKBucketDeployment"


def _model_folder(root: Path) -> BundleSpec:
    folder = root / "m"
    (folder / "sub").mkdir(parents=True)
    (folder / "model.pt").write_bytes(b"\x00weights" * 1000)
    (folder / "inference.py").write_text("def model_fn(d):\n    return d\n")
    (folder / "requirements.txt").write_text("")
    return BundleSpec(model_dir=folder, weights=("model.pt",))


def _tree(path: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(path)): (p.read_bytes(), p.stat().st_mode & 0o777) for p in files(path)
    }


def test_staged_directory_holds_what_the_archive_holds(tmp_path: Path) -> None:
    spec = _model_folder(tmp_path)
    staged = stage(spec, tmp_path / "cache")
    archive = build(spec, tmp_path / "cache")
    assert staged.path.is_dir() and not staged.cached
    with tarfile.open(archive.path) as tar:
        members = {
            m.name: (tar.extractfile(m).read(), m.mode)  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }
    assert _tree(staged.path) == members
    assert staged.size == sum(len(data) for data, _ in members.values())
    assert staged.files == len(members)
    assert (staged.path / MANIFEST).is_file()  # the cache's own record, never uploaded


def test_restaging_an_unchanged_model_is_a_hit_and_a_changed_byte_a_new_key(
    tmp_path: Path,
) -> None:
    spec = _model_folder(tmp_path)
    first = stage(spec, tmp_path / "cache")
    again = stage(spec, tmp_path / "cache")
    assert again.cached and again.sha256 == first.sha256 and again.path == first.path
    weights = spec.model_dir / "model.pt"
    weights.write_bytes(weights.read_bytes()[:-1] + b"!")
    changed = stage(spec, tmp_path / "cache")
    assert not changed.cached and changed.sha256 != first.sha256
    # The archive's key and the directory's never collide in the shared cache.
    assert changed.sha256 != build(spec, tmp_path / "cache").sha256


def test_an_incomplete_staged_directory_is_staged_again(tmp_path: Path) -> None:
    spec = _model_folder(tmp_path)
    first = stage(spec, tmp_path / "cache")
    (first.path / MANIFEST).unlink()
    (first.path / "model.pt").unlink()
    again = stage(spec, tmp_path / "cache")
    assert not again.cached and (again.path / "model.pt").is_file()


def test_upload_function_is_sized_for_the_model() -> None:
    gib = 1 << 30
    assert ephemeral_mib(1000) == 512
    assert ephemeral_mib(2 * gib) >= 2 * 2 * 1024  # zip and files side by side in /tmp
    assert memory_mib(100 << 20) == 1024 and memory_mib(2 * gib) == 2048
    assert fits(4 * gib) and not fits(5 * gib)
    assert ephemeral_mib(int(4.7 * gib)) <= EPHEMERAL_MAX_MIB


def _with_artifact(root: Path, **artifact: Any) -> None:
    path = root / "models" / "iris" / "config.yaml"
    data = yaml.safe_load(path.read_text())
    data["artifact"].update(artifact)
    write_yaml(path, data)


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    root = copy_project(tmp_path_factory.mktemp("unpacked"))
    _with_artifact(root, compression="none")
    return synthesize(root, root / "cdk.out", root / "bundles", stacks=("*-iris",))


def _artifact_bucket(template: dict[str, Any]) -> str:
    logical_id, _ = only(template, "AWS::S3::Bucket", prefix="ArtifactsBucket")
    return logical_id


def _own_model(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The stack's own Model (a variant served by another folder would have another id)."""
    return only(template, MODEL, prefix="Model")


@pytest.mark.parametrize("stack", ["Staging-iris", "Prod-iris"])
def test_model_reads_an_uncompressed_prefix(unpacked: Synthesized, stack: str) -> None:
    template = unpacked.templates[stack]
    key = template["Metadata"]["ModelArtifact"]["sha256"]
    prefix = f"models/{key}/"
    container = _own_model(template)[1]["Properties"]["PrimaryContainer"]
    assert "ModelDataUrl" not in container
    source = container["ModelDataSource"]["S3DataSource"]
    assert source["S3DataType"] == "S3Prefix" and source["CompressionType"] == "None"
    assert source["S3Uri"] == {
        "Fn::Join": ["", ["s3://", {"Ref": _artifact_bucket(template)}, f"/{prefix}"]]
    }
    assert template["Metadata"]["ModelArtifact"]["compression"] == "none"


@pytest.mark.parametrize("stack", ["Staging-iris", "Prod-iris"])
def test_files_are_extracted_under_the_prefix_and_kept(unpacked: Synthesized, stack: str) -> None:
    template = unpacked.template(stack)
    raw = unpacked.templates[stack]
    prefix = f"models/{raw['Metadata']['ModelArtifact']['sha256']}/"
    upload_id, upload = only(raw, UPLOAD)
    props = upload["Properties"]
    assert props["DestinationBucketKeyPrefix"] == prefix
    assert props["Extract"] is True
    # Old versions stay for blue/green rollback: nothing pruned, nothing deleted with it.
    assert props["Prune"] is False and props["RetainOnDelete"] is True
    assert props["DestinationBucketName"] == {"Ref": _artifact_bucket(raw)}
    (zip_key,) = props["SourceObjectKeys"]
    assert zip_key == f"{raw['Metadata']['ModelArtifact']['sha256']}.zip"
    # The SageMaker Model is created only once the files are there.
    _, model = _own_model(raw)
    assert upload_id in model["DependsOn"]
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"MemorySize": 1024, "EphemeralStorage": {"Size": 512}, "Timeout": 900},
    )


def test_the_directory_asset_is_the_staged_files(unpacked: Synthesized) -> None:
    raw = unpacked.templates["Staging-iris"]
    key = raw["Metadata"]["ModelArtifact"]["sha256"]
    (manifest_path,) = unpacked.outdir.glob("Staging-iris.assets.json")
    assets = json.loads(manifest_path.read_text())["files"]
    asset = assets[key]
    assert asset["source"] == {"path": f"asset.{key}", "packaging": "zip"}
    staged = unpacked.outdir / f"asset.{key}"
    names = sorted(str(p.relative_to(staged)) for p in staged.rglob("*") if p.is_file())
    assert "model.pt" in names and "code/inference.py" in names
    assert MANIFEST not in names
    served = unpacked.bundles["iris"]
    assert served.path.is_dir() and served.sha256 == key
    assert _tree(staged) == _tree(served.path)  # hard links of the cache's staged files


@pytest.mark.parametrize("stack", ["Staging-iris", "Prod-iris"])
def test_role_reads_and_lists_exactly_the_prefix(unpacked: Synthesized, stack: str) -> None:
    raw = unpacked.templates[stack]
    prefix = f"models/{raw['Metadata']['ModelArtifact']['sha256']}/"
    statements = statements_by_sid(raw, prefix="ExecutionRoleDefaultPolicy")
    read = statements["ReadBundle"]
    assert read["Action"] == "s3:GetObject"
    assert read["Resource"]["Fn::Join"][1][-1] == f"/{prefix}*"
    listing = statements["ListUnpackedModel"]
    assert listing["Action"] == "s3:ListBucket"
    assert listing["Condition"] == {"StringLike": {"s3:prefix": [prefix, f"{prefix}*"]}}
    assert not any(".gz" in json.dumps(s) for s in statements.values())


def test_the_example_stacks_stay_compressed(synth: Synthesized) -> None:
    for name, template in synth.templates.items():
        assert not resources(template, UPLOAD), name
        for resource in resources(template, MODEL).values():
            container = resource["Properties"]["PrimaryContainer"]
            assert "ModelDataSource" not in container, name


@pytest.mark.parametrize(
    ("artifact", "says"),
    [
        (
            {
                "compression": "none",
                "source": "s3",
                "model_data": {"s3_uri": "s3://my-bucket/m/model.tar.gz", "sha256": "a" * 64},
            },
            "compression 'none' uploads the files this folder bundles",
        ),
        (
            {
                "compression": "none",
                "source": "registry",
                "model_package_arn": "arn:aws:sagemaker:eu-west-1:111111111111:model-package/g/1",
            },
            "with source 'registry'",
        ),
        ({"compression": "zip"}, "artifact.compression"),
    ],
)
def test_uncompressed_needs_a_bundle_source(
    project_copy: Path, artifact: dict[str, Any], says: str
) -> None:
    _with_artifact(project_copy, **artifact)
    with pytest.raises(ConfigError) as error:
        load_project(project_copy)
    message = str(error.value)
    assert "models/iris/config.yaml" in message and "artifact.compression" in message, message
    assert says in message, message


def test_serverless_cannot_serve_uncompressed(project_copy: Path) -> None:
    path = project_copy / "models" / "iris" / "config.yaml"
    data = yaml.safe_load(path.read_text())
    data["artifact"]["compression"] = "none"
    data["variants"] = {"primary": {"serverless": {"memory_mb": 2048}}}
    data["serving"] = {"network_isolation": False}
    data["autoscaling"] = {"enabled": False}
    data["data_capture"] = {"enabled": False}
    data.setdefault("environments", {}).setdefault("prod", {}).pop("serving", None)
    write_yaml(path, data)
    with pytest.raises(ConfigError) as error:
        load_project(project_copy)
    message = str(error.value)
    assert "artifact.compression" in message, message
    assert "serverless variant 'primary' cannot serve uncompressed artifacts" in message, message


def test_a_model_too_large_for_the_upload_function_is_a_config_error(
    project_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stacks.app_stacks

    _with_artifact(project_copy, compression="none")
    monkeypatch.setattr(stacks.app_stacks, "fits", lambda size: False)
    with pytest.raises(ConfigError) as error:
        synthesize(project_copy, tmp_path / "out", tmp_path / "bundles", stacks=("*-iris",))
    message = str(error.value)
    assert "artifact.compression" in message and "remove artifact.compression" in message


def test_cfn_lint_finds_nothing_in_the_uncompressed_stacks(unpacked: Synthesized) -> None:
    assert_cfn_lint_clean(unpacked.outdir / f"{s}-iris.template.json" for s in ("Staging", "Prod"))
