"""CloudFormation resource types the stacks use and moto 5.2.5 skips or gets wrong.

Each type is a moto `CloudFormationModel`, one module per AWS service, so the stock engine
creates, updates and deletes the resource through the service backend, where the API
(DescribeAlarms, DescribeScalableTargets, ListSubscriptionsByTopic, DescribeEndpoint) shows it.
Without these, moto logs "No Moto CloudFormation support", marks the resource complete and
creates nothing, or (SageMaker) ignores the explicit name in the template.

To support another type: declare a `ProjectResource` subclass (see `base`) in the service's
module, add it to `MODELS` and add a test to `tests/unit/test_emulator.py` that fails on stock moto.
`MODELS` is the one list of what the extensions register (`cloudformation.patches()` reads it);
importing these modules registers nothing.
"""

from __future__ import annotations

from moto.core.common_models import CloudFormationModel

from ops.emulator.extensions.resources.application_autoscaling import (
    CfnScalableTarget,
    CfnScalingPolicy,
)
from ops.emulator.extensions.resources.cloudwatch import CfnAlarm
from ops.emulator.extensions.resources.kms import TaggedKey
from ops.emulator.extensions.resources.mlflow import CfnMlflowTrackingServer
from ops.emulator.extensions.resources.monitoring import (
    CfnDataQualityJobDefinition,
    CfnMonitoringSchedule,
)
from ops.emulator.extensions.resources.s3 import CfnBucketPolicy
from ops.emulator.extensions.resources.sagemaker import (
    CfnModelPackageGroup,
    CfnPipeline,
    NamedEndpoint,
    NamedEndpointConfig,
    NamedModel,
)
from ops.emulator.extensions.resources.sns import CfnSubscription, CfnTopicPolicy

MODELS: tuple[type[CloudFormationModel], ...] = (
    CfnAlarm,
    CfnScalableTarget,
    CfnScalingPolicy,
    CfnSubscription,
    CfnTopicPolicy,
    CfnBucketPolicy,
    TaggedKey,
    CfnModelPackageGroup,
    CfnPipeline,
    CfnMlflowTrackingServer,
    CfnDataQualityJobDefinition,
    CfnMonitoringSchedule,
    NamedModel,
    NamedEndpointConfig,
    NamedEndpoint,
)
