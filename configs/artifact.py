"""The bundle: which container serves it and which model version it is (same in every environment).

What gets deployed to production is what was tried in staging, so nothing here may be overridden
per environment (see `configs.model.BUNDLE_FIELDS`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictStr, ValidationInfo, field_validator, model_validator

from configs.base import (
    MODEL_PACKAGE_ARN_PATTERN,
    PACKAGE_PATTERN,
    Items,
    RelPath,
    Strict,
    fail,
    relative_path,
)


class Framework(Strict):
    """Which SageMaker PyTorch inference container serves the bundle."""

    pytorch_version: StrictStr = Field(
        "2.6",
        description="PyTorch version of the SageMaker inference image, as the sagemaker SDK "
        "knows it (for example '2.6').",
        pattern=r"^[0-9]+\.[0-9]+(\.[0-9]+)?$",
    )
    python_version: StrictStr = Field(
        "py312",
        description="Python version tag of the inference image (for example 'py312').",
        pattern=r"^py3[0-9]+$",
    )


class ModelData(Strict):
    """A model version already in S3, pinned by its digest."""

    s3_uri: StrictStr = Field(
        description="s3://bucket/key of a model.tar.gz in SageMaker's layout.",
        pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/\S+\.tar\.gz$",
    )
    sha256: StrictStr = Field(
        description="sha256 of that archive (64 hex digits); recorded in the template so a "
        "reviewer sees which bytes are served.",
        pattern=r"^[0-9a-f]{64}$",
    )


class Artifact(Strict):
    """What goes into model.tar.gz: weights at the top, code under code/."""

    weights: Items[RelPath] = Field(
        min_length=1,
        description="Weight files, relative to the model folder; placed at the archive's top.",
    )
    entry_point: RelPath = Field(
        "inference.py",
        description="Inference script relative to the model folder (model_fn, input_fn, "
        "predict_fn, output_fn); becomes SAGEMAKER_PROGRAM.",
    )
    code: Items[RelPath] = Field(
        ("*.py", "requirements.txt"),
        min_length=1,
        description="Glob patterns, relative to the model folder, of files placed under code/.",
    )
    shared: Items[Annotated[StrictStr, Field(pattern=PACKAGE_PATTERN)]] = Field(
        (),
        description="Shared library folders under models/ (folders without config.yaml) that "
        "are copied to code/<name>/ so the model can import them.",
    )

    source: Literal["bundle", "s3", "registry"] = Field(
        "bundle",
        description="What the endpoint serves: 'bundle' (model.tar.gz built from this folder at "
        "synth), 's3' (model_data: a pinned archive and its sha256, for example a training "
        "job's output) or 'registry' (model_package_arn: an approved model package).",
    )
    model_data: ModelData | None = Field(
        None, description="With source 's3': the archive's s3_uri and sha256."
    )
    compression: Literal["gzip", "none"] = Field(
        "gzip",
        description="'gzip': the endpoint downloads model.tar.gz and extracts it. 'none' (large "
        "models): the bundle's files are uploaded as they are under one S3 prefix of the "
        "artifact bucket and SageMaker copies them without extracting (ModelDataSource, "
        "S3Prefix, CompressionType None); only with source 'bundle', not with serverless "
        "variants. The model's other variants and a training pipeline are unaffected.",
    )
    model_package_arn: StrictStr | None = Field(
        None,
        description="With source 'registry': the ARN of an approved model package version, "
        "for example 'arn:aws:sagemaker:eu-west-1:111111111111:model-package/staging-iris/3' "
        "(`python -m ops promote` prints it).",
        pattern=MODEL_PACKAGE_ARN_PATTERN,
    )

    @model_validator(mode="after")
    def _source_is_pinned(self) -> Artifact:
        given = {"s3": self.model_data is not None, "registry": self.model_package_arn is not None}
        field = {"s3": "model_data", "registry": "model_package_arn"}
        for source, present in given.items():
            if source == self.source and not present:
                fail(
                    (field[source],),
                    f"source {source!r} needs artifact.{field[source]}; add it, or set source "
                    "back to 'bundle'",
                    value=None,
                )
            if source != self.source and present:
                fail(
                    (field[source],),
                    f"artifact.{field[source]} is only read with source {source!r} (source is "
                    f"{self.source!r}); set source: {source} or remove it",
                    value="set",
                )
        if self.compression == "none" and self.source != "bundle":
            fail(
                ("compression",),
                f"compression 'none' uploads the files this folder bundles; with source "
                f"{self.source!r} SageMaker reads a pinned model.tar.gz or model package: remove "
                "compression or set source back to 'bundle'",
                value=self.compression,
            )
        return self

    @field_validator("weights", "code", mode="after")
    @classmethod
    def _paths_stay_inside(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(relative_path(v) for v in values)

    @field_validator("entry_point", mode="after")
    @classmethod
    def _entry_point_inside(cls, value: str) -> str:
        value = relative_path(value)
        if "/" in value or not value.endswith(".py"):
            raise ValueError(
                f"{value!r} must be a Python file (.py) at the top of the model folder; "
                "SageMaker imports SAGEMAKER_PROGRAM from code/"
            )
        return value

    @model_validator(mode="after")
    def _files_exist(self, info: ValidationInfo) -> Artifact:
        folder = (info.context or {}).get("model_dir")
        if folder is None:
            return self
        for index, weight in enumerate(self.weights):
            if not (folder / weight).is_file():
                raise ValueError(
                    f"weights[{index}] {weight!r} does not exist in {folder.name}/ "
                    "(train the model first, or fix the path)"
                )
        if not (folder / self.entry_point).is_file():
            raise ValueError(f"entry_point {self.entry_point!r} does not exist in {folder.name}/")
        for name in self.shared:
            shared = folder.parent / name
            if not shared.is_dir():
                raise ValueError(f"shared folder models/{name}/ does not exist")
            if (shared / "config.yaml").exists():
                raise ValueError(f"shared folder models/{name}/ is a model (it has config.yaml)")
        return self
