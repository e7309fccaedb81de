"""Reading synthesized CloudFormation templates, with no CDK: one reader for every tool.

The rule pack (at synth, given template paths), the PR diff, the verifier, the summary and local
serving (given a cloud assembly folder) all read templates through `StackTemplate`, so they
agree on what a resource of a type is and where a stack's model metadata sits. No CDK import:
`ops` may import this module.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacks.metadata import BundleRecord, MonitoringRecord, read_bundle, read_monitoring


def resources_of(template: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """The resources of one CloudFormation type, by logical id (malformed entries skipped)."""
    resources = template.get("Resources")
    if not isinstance(resources, Mapping):
        return {}
    return {
        logical: dict(resource)
        for logical, resource in resources.items()
        if isinstance(resource, Mapping) and resource.get("Type") == kind
    }


def properties(resource: Mapping[str, Any]) -> dict[str, Any]:
    """A resource's `Properties` ({} when it has none)."""
    value = resource.get("Properties")
    return dict(value) if isinstance(value, Mapping) else {}


def read_template(path: Path) -> dict[str, Any]:
    """One synthesized template file."""
    template: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return template


def concrete_region(environment: str) -> str | None:
    """The region of a manifest environment (`aws://<account>/<region>`), if it names one."""
    region = environment.rsplit("/", 1)[-1] if environment.startswith("aws://") else ""
    return region if region and not region.startswith("unknown-") else None


@dataclass(frozen=True)
class StackTemplate:
    """One stack of a cloud assembly: its name, template file and template, and its region
    when the manifest names a concrete one."""

    name: str
    template_path: Path
    template: dict[str, Any]
    region: str | None = None

    @property
    def bundle(self) -> BundleRecord | None:
        """The model bundle the stack deploys (`Metadata.ModelBundle`), if it is a model stack."""
        return read_bundle(self.template)

    @property
    def monitoring(self) -> MonitoringRecord | None:
        """The drift monitoring the stack sets up (`Metadata.ModelMonitoring`), if any."""
        return read_monitoring(self.template)

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return resources_of(self.template, kind)


def read_assembly(outdir: Path) -> list[StackTemplate]:
    """Every CloudFormation stack in a cloud assembly (cdk.out), in manifest order.

    Raises:
        FileNotFoundError: `outdir` has no manifest.json (not synthesized yet).
    """
    manifest_path = outdir / "manifest.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(
            f"{outdir} is not a cloud assembly (no manifest.json); run `make synth` first"
        )
    manifest = json.loads(manifest_path.read_text())
    stacks = []
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        path = outdir / artifact["properties"]["templateFile"]
        name = artifact.get("displayName") or artifact_id
        region = concrete_region(str(artifact.get("environment", "")))
        stacks.append(StackTemplate(name, path, read_template(path), region))
    return stacks
