"""Builds the app from a loaded `Project`: bundles each model once, then adds one
`<Prefix>-<model>` stack per environment x model, and the security checks.

Only selected stacks are built (`selection`, from the `stacks` context value): a model with no
selected stack is neither bundled nor hashed, and its image is not looked up. What the sagemaker
SDK answers (image URIs, pipeline definitions) is remembered in one memo in the bundle cache.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import App

from bundler import Bundle, BundleSpec, build
from bundler.baseline import Baseline, BaselineError, build_baseline
from bundler.staging import stage
from bundler.training_code import training_code_spec as training_code_layout
from configs.errors import ConfigError, Problem
from configs.loader import MODEL_CONFIG, Deployment, ModelSource, Project
from configs.model import ModelSpec
from stacks.checks.plugin import add_checks
from stacks.constructs.training import TrainingBuild
from stacks.constructs.unpacked_model import EPHEMERAL_MAX_MIB, fits
from stacks.constructs.variant_models import VariantModel
from stacks.images import ImageLookupError, ImageResolver
from stacks.memo import JsonMemo
from stacks.model_stack import ModelStack
from stacks.pipeline_definition import PipelineInputs, pipeline_definition


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
    """The training job's source archive (`bundler.training_code`)."""
    artifact = source.file.artifact
    return training_code_layout(
        models_dir=project.root / "models",
        folder=source.folder.name,
        code=artifact.code,
        shared=artifact.shared,
    )


def parse_selection(value: object) -> tuple[str, ...]:
    """Stack-name patterns from the `stacks` context value: a string of patterns separated by
    commas or spaces (`-c stacks='Staging-*'`), or a JSON list; none means every stack."""
    if value is None or value == "":
        return ()
    items = value if isinstance(value, list) else str(value).replace(",", " ").split()
    return tuple(str(item).strip() for item in items if str(item).strip())


def _selected(project: Project, selection: Sequence[str]) -> list[Deployment]:
    """The deployments whose stack names match a pattern (all of them without patterns)."""
    deployments = project.deployments()
    if not selection:
        return deployments
    chosen = [
        d for d in deployments if any(fnmatch.fnmatchcase(d.stack_name, p) for p in selection)
    ]
    if not chosen:
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
    return chosen


def _source(project: Project, name: str) -> ModelSource:
    """A model by name or by folder name (variants name the folder)."""
    if name in project.models:
        return project.models[name]
    return next(s for s in project.models.values() if s.folder.name == name)


def _own_artifact(project: Project, source: ModelSource, cache_dir: Path) -> Bundle:
    """What an endpoint serves itself: model.tar.gz, or with `artifact.compression: none` its
    files staged as a directory (nothing compressed)."""
    spec = bundle_spec(project, source)
    if source.file.artifact.compression == "none":
        return stage(spec, cache_dir)
    return build(spec, cache_dir)


def _variant_model_names(spec: ModelSpec) -> list[str]:
    """Other models whose bundles this deployment's variants serve."""
    variants = [*spec.production_variants().values(), *spec.shadow().values()]
    return sorted({v.model for v in variants if v.model is not None})


def _variant_archives(
    project: Project,
    deployments: Sequence[Deployment],
    bundles: dict[str, Bundle],
    cache_dir: Path,
) -> dict[str, Bundle]:
    """Models that variants of the selected stacks serve, always as archives (a model's own
    archive when it is one already)."""
    archives: dict[str, Bundle] = {}
    for name in sorted({m for d in deployments for m in _variant_model_names(d.spec)}):
        own = bundles.get(name)
        archives[name] = (
            own
            if own is not None and own.path.is_file()
            else build(bundle_spec(project, _source(project, name)), cache_dir)
        )
    return archives


def _too_large(deployment: Deployment, served: Bundle) -> Problem | None:
    """Uncompressed model files the upload function cannot hold."""
    if not served.path.is_dir() or fits(served.size):
        return None
    return Problem(
        deployment.source.folder / MODEL_CONFIG,
        "artifact.compression",
        f"'none' with {served.size / 2**30:.1f} GiB of model files: the upload "
        f"function extracts them in at most {EPHEMERAL_MAX_MIB} MiB of storage, "
        "which holds the zip and the files (about 4.7 GiB of model)",
        "remove artifact.compression (gzip) for this model",
    )


def _no_image(deployment: Deployment, error: ImageLookupError) -> Problem:
    framework = deployment.spec.framework
    return Problem(
        deployment.source.folder / MODEL_CONFIG,
        "framework",
        f"no SageMaker PyTorch inference image for {framework.pytorch_version} / "
        f"{framework.python_version} in {deployment.environment.region}: {error}",
        "pick a version and Python tag the sagemaker SDK lists for PyTorch inference",
    )


def _variant_models(
    project: Project,
    deployment: Deployment,
    archives: dict[str, Bundle],
    images: ImageResolver,
) -> dict[str, VariantModel]:
    """The other models this deployment's variants serve: archive, image and entry point."""
    variants = {}
    for name in _variant_model_names(deployment.spec):
        source = _source(project, name)
        variants[name] = VariantModel(
            bundle=archives[name],
            image_uri=images.inference_image(
                source.file.framework.pytorch_version,
                source.file.framework.python_version,
                deployment.environment.region,
                deployment.spec.serving.instance_type,
            ),
            entry_point=source.file.artifact.entry_point,
        )
    return variants


def _training(
    project: Project,
    deployment: Deployment,
    *,
    inference_image: str,
    images: ImageResolver,
    memo: JsonMemo,
    cache_dir: Path,
    built: dict[str, Bundle],
) -> TrainingBuild | None:
    """The training code archive (once per model, in `built`), image and pipeline definition,
    when training is enabled."""
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
    inputs = PipelineInputs(
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
        # The tracking server and its experiment are both named <environment>-<model>.
        mlflow_experiment=deployment.endpoint_name
        if deployment.environment.tracking.mlflow.enabled
        else "",
    )
    definition = pipeline_definition(inputs, memo=memo)
    return TrainingBuild(code=code, training_image=image, definition=definition)


def _monitoring(
    deployment: Deployment, images: ImageResolver, cache_dir: Path
) -> tuple[Baseline, str] | Problem | None:
    """The drift baseline (built once per input, cached) and Model Monitor's image, when the
    deployment monitors data quality; a Problem when the data cannot be read as a table."""
    quality = deployment.spec.monitoring.data_quality
    if not quality.enabled or quality.data is None:
        return None
    where = deployment.source.folder / MODEL_CONFIG
    try:
        baseline = build_baseline(
            data=deployment.source.folder / quality.data,
            features=quality.features,
            drift_threshold=quality.drift_threshold,
            cache_dir=cache_dir,
        )
        image = images.monitor_image(deployment.environment.region)
    except (BaselineError, OSError) as error:
        fix = "give a CSV file with a header row naming the features, one row per example"
        return Problem(where, "monitoring.data_quality.data", str(error), fix)
    except ImageLookupError as error:
        fix = "monitor in a region Model Monitor runs in, or turn monitoring off"
        return Problem(where, "monitoring.data_quality", str(error), fix)
    return baseline, image


def add_stacks(
    app: App, project: Project, *, cache_dir: Path, selection: Sequence[str] = ()
) -> Built:
    """Bundle each selected model once and add its stacks; add the security checks.

    Args:
        cache_dir: the bundle cache (the SDK's memo lives there too).
        selection: stack-name glob patterns (`Staging-*`, `Prod-iris`); empty selects all.

    Raises:
        ConfigError: a framework version the SDK has no image for, or a selection that
            matches no stack.
        BundleError: a model folder that cannot be bundled.
    """
    deployments = _selected(project, selection)
    # Once per model, not per environment: both stacks of a model serve the same files.
    sources = {d.model_name: d.source for d in deployments}
    bundles = {name: _own_artifact(project, source, cache_dir) for name, source in sources.items()}
    archives = _variant_archives(project, deployments, bundles, cache_dir)
    memo = JsonMemo.in_folder(cache_dir)
    images = ImageResolver(memo)
    training_code: dict[str, Bundle] = {}
    stacks: dict[str, ModelStack] = {}
    problems: list[Problem] = []
    for deployment in deployments:
        served = bundles[deployment.model_name]
        too_large = _too_large(deployment, served)
        if too_large is not None:
            problems.append(too_large)
            continue
        framework = deployment.spec.framework
        try:
            image_uri = images.inference_image(
                framework.pytorch_version,
                framework.python_version,
                deployment.environment.region,
                deployment.spec.serving.instance_type,
            )
        except ImageLookupError as error:
            problems.append(_no_image(deployment, error))
            continue
        monitoring = _monitoring(deployment, images, cache_dir)
        if isinstance(monitoring, Problem):
            problems.append(monitoring)
            continue
        stacks[deployment.stack_name] = ModelStack(
            app,
            deployment.stack_name,
            deployment=deployment,
            bundle=served,
            image_uri=image_uri,
            variant_models=_variant_models(project, deployment, archives, images),
            training=_training(
                project,
                deployment,
                inference_image=image_uri,
                images=images,
                memo=memo,
                cache_dir=cache_dir,
                built=training_code,
            ),
            monitoring=monitoring,
        )
    memo.save()
    if problems:
        raise ConfigError(problems, project.root)
    add_checks(app)
    return Built(stacks, {**archives, **bundles})
