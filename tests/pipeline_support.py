"""The training pipeline's inputs for one model, as the definition tests build them.

Apart from the test modules so a second process can build the same definition while importing
only the definition's own code (no CDK, no pytest).
"""

from __future__ import annotations

from typing import Any

from configs.training import Quality, Training
from stacks.pipeline_definition import PipelineInputs


def pipeline_inputs(**training: Any) -> PipelineInputs:
    """Inputs for iris in eu-west-1; `training` adds to (or replaces) the training config."""
    config = {"inputs": {"train": {"s3_uri": "s3://data/iris/"}}, **training}
    return PipelineInputs(
        model_name="iris",
        training=Training.model_validate(config),
        quality=Quality(metric="test_accuracy", threshold=0.9),
        training_image="763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-training:2.6-cpu-py312",
        inference_image="763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-inference:2.6-cpu-py312",
        program="code/iris/train.py",
        serving_entry_point="inference.py",
        serving_instance_type="ml.m5.large",
        region="eu-west-1",
        code_sha256="0" * 64,
        framework_version="2.6",
    )
