"""Turns a loaded `Project` into stacks: one `<Prefix>-<model>` per environment x model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import App

from bundler import Bundle, BundleSpec, build
from configs.loader import MODEL_CONFIG, ConfigError, ModelSource, Problem, Project
from stacks.images import ImageLookupError, inference_image
from stacks.model_stack import ModelStack
from stacks.nag import add_checks


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


def add_stacks(app: App, project: Project, *, cache_dir: Path) -> Built:
    """Bundle each model once and add its stack for every environment; add cdk-nag checks.

    Raises:
        ConfigError: a framework version the SDK has no image for.
        BundleError: a model folder that cannot be bundled.
    """
    bundles = {
        name: build(bundle_spec(project, source), cache_dir)
        for name, source in project.models.items()
    }
    stacks: dict[str, ModelStack] = {}
    problems: list[Problem] = []
    for deployment in project.deployments():
        framework = deployment.spec.framework
        try:
            image_uri = inference_image(
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
        )
    if problems:
        raise ConfigError(problems, project.root)
    add_checks(app)
    return Built(stacks, bundles)
