"""CloudTrail's LookupEvents, which moto 5.2.5 lacks, answered with no events.

After a failed deployment the CDK CLI looks up CloudTrail events to explain the failure; moto
answers 500 ("not implemented"), the SDK retries with back-off, and `cdk deploy` reports the
failure about 25 s late. The emulator records no API activity as CloudTrail would, so the true
answer here is an empty list ("LookupEvents", CloudTrail API Reference,
https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html).
"""

from __future__ import annotations

import json
from typing import Any

from ops.emulator.patching import Addition, Patch


def _lookup_events(self: Any) -> str:
    return json.dumps({"Events": []})


def patches() -> list[Patch]:
    from moto.cloudtrail.responses import CloudTrailResponse

    return [(CloudTrailResponse, "lookup_events", Addition(_lookup_events))]
