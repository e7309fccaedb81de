"""Turns a loaded `Project` into stacks: one `<Prefix>-<model>` per environment x model.

Only selected stacks are built (`selection`, from the `stacks` context value): a model with no
selected stack is neither bundled nor hashed, and its image is not looked up.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import App

from bundler import Bundle, BundleSpec, build
from bundler.staging import stage
from configs.errors import ConfigError, Problem
from configs.loader import MODEL_CONFIG, Deployment, ModelSource, Project
from configs.model import ModelSpec
from stacks.checks.plugin import add_checks
from stacks.constructs.training import TrainingBuild
from stacks.constructs.unpacked_model import EPHEMERAL_MAX_MIB, fits
from stacks.constructs.variant_models import VariantModel
from stacks.images import ImageLookupError, ImageResolver
from stacks.model_stack import ModelStack
from stacks.pipeline_definition import DefinitionCache, PipelineInputs


@dataclass(frozen=True)
class Built:
    """What `add_stacks` made, for summaries and tests."""

    stacks: dict[str, ModelStack]
    bundles: dict[str, Bundle]


def bundle_spec(project: Project, source: ModelSource) -> BundleSpec:
    artifact = source.file.artifact
    return BundleSpec(
        model_dir=source.folder,
        weights=artifact.weights,
        code=artifact.code,
        shared=tuple(project.root / "models" / name for name in artifact.shared),
    )


def training_code_spec(project: Project, source: ModelSource) -> BundleSpec:
    """The training job's source archive: `code/<model>/` (the folder's code) beside the shared
    folders in `code/<name>/`, as the folders sit under models/ so train.py imports the same
    way in a job as on a laptop."""
    folder = source.folder.name
    artifact = source.file.artifact
    return BundleSpec(
        model_dir=project.root / "models",
        weights=(),
        code=tuple(f"{folder}/{pattern}" for pattern in artifact.code),
        shared=tuple(project.root / "models" / name for name in artifact.shared),
    )


def parse_selection(value: object) -> tuple[str, ...]:
    """Stack-name patterns from the `stacks` context value: a string of patterns separated by
    commas or spaces (`-c stacks='Staging-*'`), or a JSON list; none means every stack."""
    if value is None or value == "":
        return ()
    items = value if isinstance(value, list) else str(value).replace(",", " ").split()
    return tuple(str(item).strip() for item in items if str(item).strip())


def add_stacks(
    app: App, project: Project, *, cache_dir: Path, selection: Sequence[str] = ()
) -> Built:
    """Bundle each selected model once and add its stacks; add cdk-nag checks.

    Args:
        cache_dir: the bundle cache (the image look-up memo lives there too).
        selection: stack-name glob patterns (`Staging-*`, `Prod-iris`); empty selects all.

    Raises:
        ConfigError: a framework version the SDK has no image for, or a selection that
            matches no stack.
        BundleError: a model folder that cannot be bundled.
    """
    deployments = project.deployments()
    if selection:
        deployments = [
            d for d in deployments if any(fnmatch.fnmatchcase(d.stack_name, p) for p in selection)
        ]
        if not deployments:
            raise ConfigError(
                [
                    Problem(
                        project.root / "cdk.json",
                        "context.stacks",
                        f"{list(selection)} matches no stack",
                        "name stacks as <Prefix>-<model> (globs allowed), or leave it unset",
                    )
                ],
                project.root,
            )
    # What each endpoint serves itself: model.tar.gz, or with `artifact.compression: none` its
    # files staged as a directory (nothing compressed).
    # Once per model, not per environment: both stacks of a model serve the same files.
    sources = {d.model_name: d.source for d in deployments}
    bundles = {name: _own_artifact(project, source, cache_dir) for name, source in sources.items()}
    # Models that variants of the selected stacks serve are bundled too, always as archives.
    archives: dict[str, Bundle] = {}
    for name in sorted({m for d in deployments for m in _variant_model_names(d.spec)}):
        own = bundles.get(name)
        archives[name] = (
            own
            if own is not None and own.path.is_file()
            else build(bundle_spec(project, _source(project, name)), cache_dir)
        )
    images = ImageResolver(cache_dir)
    definitions = DefinitionCache(cache_dir)
    training_code: dict[str, Bundle] = {}  # the training code archive, once per model
    stacks: dict[str, ModelStack] = {}
    problems: list[Problem] = []
    for deployment in deployments:
        framework = deployment.spec.framework
        served = bundles[deployment.model_name]
        if served.path.is_dir() and not fits(served.size):
            problems.append(
                Problem(
                    deployment.source.folder / MODEL_CONFIG,
                    "artifact.compression",
                    f"'none' with {served.size / 2**30:.1f} GiB of model files: the upload "
                    f"function extracts them in at most {EPHEMERAL_MAX_MIB} MiB of storage, "
                    "which holds the zip and the files (about 4.7 GiB of model)",
                    "remove artifact.compression (gzip) for this model",
                )
            )
            continue
        try:
            image_uri = images.inference_image(
                framework.pytorch_version,
                framework.python_version,
                deployment.environment.region,
                deployment.spec.serving.instance_type,
            )
        except ImageLookupError as error:
            problems.append(
                Problem(
                    deployment.source.folder / MODEL_CONFIG,
                    "framework",
                    f"no SageMaker PyTorch inference image for {framework.pytorch_version} / "
                    f"{framework.python_version} in {deployment.environment.region}: {error}",
                    "pick a version and Python tag the sagemaker SDK lists for PyTorch inference",
                )
            )
            continue
        stacks[deployment.stack_name] = ModelStack(
            app,
            deployment.stack_name,
            deployment=deployment,
            bundle=bundles[deployment.model_name],
            image_uri=image_uri,
            variant_models={
                name: VariantModel(
                    bundle=archives[name],
                    image_uri=images.inference_image(
                        _source(project, name).file.framework.pytorch_version,
                        _source(project, name).file.framework.python_version,
                        deployment.environment.region,
                        deployment.spec.serving.instance_type,
                    ),
                    entry_point=_source(project, name).file.artifact.entry_point,
                )
                for name in _variant_model_names(deployment.spec)
            },
            training=_training(
                project, deployment, image_uri, images, definitions, cache_dir, training_code
            ),
        )
    images.save()
    definitions.save()
    if problems:
        raise ConfigError(problems, project.root)
    add_checks(app)
    return Built(stacks, {**archives, **bundles})


def _training(
    project: Project,
    deployment: Deployment,
    inference_image: str,
    images: ImageResolver,
    definitions: DefinitionCache,
    cache_dir: Path,
    built: dict[str, Bundle],
) -> TrainingBuild | None:
    """The training code archive, image and pipeline definition, when training is enabled."""
    spec = deployment.spec
    training = spec.training
    if training is None or not training.enabled or spec.quality is None:
        return None
    framework = spec.framework
    code = built.get(deployment.model_name)
    if code is None:
        code = built[deployment.model_name] = build(
            training_code_spec(project, deployment.source), cache_dir
        )
    image = images.training_image(
        framework.pytorch_version,
        framework.python_version,
        deployment.environment.region,
        training.instance_type,
    )
    definition = definitions.definition(
        PipelineInputs(
            model_name=deployment.model_name,
            training=training,
            quality=spec.quality,
            training_image=image,
            inference_image=inference_image,
            program=f"code/{deployment.source.folder.name}/{training.entry_point}",
            serving_entry_point=spec.artifact.entry_point,
            serving_instance_type=spec.serving.instance_type,
            region=deployment.environment.region,
            code_sha256=code.sha256,
            framework_version=framework.pytorch_version,
        )
    )
    return TrainingBuild(code=code, training_image=image, definition=definition)


def _own_artifact(project: Project, source: ModelSource, cache_dir: Path) -> Bundle:
    spec = bundle_spec(project, source)
    if source.file.artifact.compression == "none":
        return stage(spec, cache_dir)
    return build(spec, cache_dir)


def _variant_model_names(spec: ModelSpec) -> list[str]:
    """Other models whose bundles this deployment's variants serve."""
    variants = [*spec.production_variants().values(), *spec.shadow().values()]
    return sorted({v.model for v in variants if v.model is not None})


def _source(project: Project, name: str) -> ModelSource:
    """A model by name or by folder name (variants name the folder)."""
    if name in project.models:
        return project.models[name]
    return next(s for s in project.models.values() if s.folder.name == name)
