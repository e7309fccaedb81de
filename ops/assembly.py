"""Read a synthesized cloud assembly (cdk.out) without the CDK: stacks, templates, bundles."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BUNDLE_METADATA = "ModelBundle"  # written by stacks.model_stack.ModelStack


@dataclass(frozen=True)
class StackArtifact:
    name: str
    template_path: Path
    template: dict[str, Any]

    @property
    def bundle(self) -> dict[str, Any]:
        value = self.template.get("Metadata", {}).get(BUNDLE_METADATA, {})
        return value if isinstance(value, dict) else {}

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {
            logical: resource
            for logical, resource in self.template.get("Resources", {}).items()
            if resource.get("Type") == kind
        }


def read_stacks(outdir: Path) -> list[StackArtifact]:
    """Every CloudFormation stack in the assembly, in manifest order."""
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
        stacks.append(StackArtifact(name, path, json.loads(path.read_text())))
    return stacks
