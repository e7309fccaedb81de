"""The template metadata contract: what a model stack records under its template's `Metadata`.

A model stack writes three entries; the tools that read a cloud assembly or a deployed template
(summary, PR diff, verifier, local serving, retire) read them back through this module and
nowhere else, so a key or a field is named once. No CDK import: `ops` may import this module
(and `stacks.templates`) without pulling in construct code.

- `ModelBundle`: the model, its environment, and the model.tar.gz the stack deploys (sha256 and
  size). The sha256 is also the CDK asset hash, so `cdk.out/asset.<sha256>.tar.gz` is the archive.
- `ModelArtifact`: where the endpoint's own model comes from (config `artifact.source`).
- `ModelVariants`: each variant's kind (production or shadow), model and archive digest.
- `ModelMonitoring` (only when data-quality monitoring is on): the monitoring schedule's name
  and cron expression, the drift threshold, the monitored features in request order, and the
  baseline's statistics.json and constraints.json as file names in the cloud assembly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

BUNDLE = "ModelBundle"
ARTIFACT = "ModelArtifact"
VARIANTS = "ModelVariants"
MONITORING = "ModelMonitoring"


@dataclass(frozen=True)
class BundleRecord:
    """`Metadata.ModelBundle`: which model and environment a stack serves, and its archive."""

    model: str
    environment: str
    sha256: str
    bytes: int

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "environment": self.environment,
            "sha256": self.sha256,
            "bytes": self.bytes,
        }


@dataclass(frozen=True)
class MonitoringRecord:
    """`Metadata.ModelMonitoring`: what a local drift check needs to act as the schedule does.

    `statistics` and `constraints` are file names in the cloud assembly (cdk.out), the baseline
    assets; `features` are in the order a request lists its values. The threshold is written as
    a string: CloudFormation refuses numbers with a fraction in a template's Metadata.
    """

    schedule_name: str
    schedule: str
    drift_threshold: float
    features: tuple[str, ...]
    statistics: str
    constraints: str

    def to_json(self) -> dict[str, Any]:
        return {
            "schedule_name": self.schedule_name,
            "schedule": self.schedule,
            "drift_threshold": repr(self.drift_threshold),  # Metadata holds no floats
            "features": list(self.features),
            "statistics": self.statistics,
            "constraints": self.constraints,
        }


def stack_metadata(
    *,
    bundle: BundleRecord,
    artifact: Mapping[str, str],
    variants: Mapping[str, Mapping[str, str]],
    monitoring: MonitoringRecord | None = None,
) -> dict[str, Any]:
    """The template `Metadata` a model stack writes (key order is part of the template bytes)."""
    metadata = {
        BUNDLE: bundle.to_json(),
        ARTIFACT: dict(artifact),
        VARIANTS: {name: dict(served) for name, served in variants.items()},
    }
    if monitoring is not None:
        metadata[MONITORING] = monitoring.to_json()
    return metadata


def _entry(template: Any, key: str) -> Mapping[str, Any]:
    metadata = template.get("Metadata") if isinstance(template, Mapping) else None
    value = metadata.get(key) if isinstance(metadata, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def read_bundle(template: Any) -> BundleRecord | None:
    """The `ModelBundle` entry of a template (a dict), or None when it has none or it is malformed.

    Accepts anything: a template read back from CloudFormation may be a string or carry
    other stacks' metadata.
    """
    entry = _entry(template, BUNDLE)
    model, environment = entry.get("model"), entry.get("environment")
    sha256, size = entry.get("sha256"), entry.get("bytes")
    if not (isinstance(model, str) and isinstance(environment, str) and isinstance(sha256, str)):
        return None
    return BundleRecord(
        model=model,
        environment=environment,
        sha256=sha256,
        bytes=size if isinstance(size, int) and not isinstance(size, bool) else 0,
    )


def read_artifact(template: Any) -> dict[str, str]:
    """The `ModelArtifact` entry: source plus its version or digest ({} when absent)."""
    return {k: str(v) for k, v in _entry(template, ARTIFACT).items()}


def read_variants(template: Any) -> dict[str, dict[str, str]]:
    """The `ModelVariants` entry: variant name -> kind, model and sha256 ({} when absent)."""
    return {
        name: {k: str(v) for k, v in served.items()}
        for name, served in _entry(template, VARIANTS).items()
        if isinstance(served, Mapping)
    }


def read_monitoring(template: Any) -> MonitoringRecord | None:
    """The `ModelMonitoring` entry, or None when monitoring is off or the entry is malformed."""
    entry = _entry(template, MONITORING)
    texts = [entry.get(k) for k in ("schedule_name", "schedule", "statistics", "constraints")]
    threshold, features = _number(entry.get("drift_threshold")), entry.get("features")
    if not all(isinstance(v, str) for v in texts) or not isinstance(features, list):
        return None
    if threshold is None:
        return None
    name, schedule, statistics, constraints = (str(v) for v in texts)
    return MonitoringRecord(
        schedule_name=name,
        schedule=schedule,
        drift_threshold=threshold,
        features=tuple(str(f) for f in features),
        statistics=statistics,
        constraints=constraints,
    )


def _number(value: Any) -> float | None:
    """A number written as a string (or, leniently, as a number); None otherwise."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        return float(value)
    except ValueError:
        return None
