"""What SageMaker accepts, where both a construct (building) and a rule (checking) need it."""

from __future__ import annotations

import re

# Instance families whose storage is local NVMe, encrypted by the instance's hardware: SageMaker
# refuses a KmsKeyId for an EndpointConfig that uses any of them (API_CreateEndpointConfig,
# KmsKeyId). EC2 names them with a "d" after the generation (m5d, c6id, g4dn, p3dn), plus the
# accelerated families that always carry NVMe instance storage.
_INSTANCE_STORAGE_FAMILY = re.compile(
    r"^([a-z]+\d+[a-z]*d[a-z]*|g5|g6|g6e|gr6|p4d|p4de|p5|p5e|p5en|p6|trn1|trn1n|trn2)$"
)


def has_instance_storage(instance_type: str) -> bool:
    """`ml.m5d.large` / `ml.g5.xlarge` -> True; `ml.m5.large` / `ml.c5.xlarge` -> False."""
    parts = instance_type.split(".")
    family = parts[1] if len(parts) == 3 else instance_type
    return _INSTANCE_STORAGE_FAMILY.match(family) is not None
