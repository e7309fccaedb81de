"""One snapshot per stack of every example model, with content hashes and account ids
normalised.

A change to any template shows up here as a reviewable diff; refresh with
`.venv/bin/python -m pytest tests/synth/test_snapshots.py --snapshot-update` once it is
intended. A new model folder or environment is a new stack: its first snapshot is written the
same way.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from configs.loader import load_project
from tests.conftest import ROOT, Synthesized

# Every stack the app makes, known from the configs alone (collection does not synthesize).
STACKS = sorted(d.stack_name for d in load_project(ROOT).deployments())


def normalise(template: dict[str, Any], synth: Synthesized) -> Any:
    text = json.dumps(template, sort_keys=True)
    for bundle in synth.bundles.values():
        text = text.replace(bundle.sha256, "<bundle-sha256>")
    # Other content hashes (the training code archive's asset key) change with any code edit.
    text = re.sub(r"\b[0-9a-f]{64}\b", "<asset-sha256>", text)
    text = re.sub(r'"bytes": \d+', '"bytes": "<bundle-bytes>"', text)
    for env in synth.project.environments.values():
        text = text.replace(env.account, "<account>")
    return json.loads(text)


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


def test_every_stack_has_a_snapshot(synth: Synthesized) -> None:
    assert set(STACKS) == set(synth.templates)


@pytest.mark.parametrize("stack", STACKS)
def test_template_snapshot(
    synth: Synthesized, snapshot_json: SnapshotAssertion, stack: str
) -> None:
    assert normalise(synth.templates[stack], synth) == snapshot_json
