"""One botocore loader for the whole test process, so AWS's service models are read once.

moto's `mock_aws` swaps in a fresh boto3 default session each time it starts, and each session
makes its own loader, which parses every service model it is asked for again from botocore's
JSON files: about 0.5 CPU-s for a test that calls five services, most of an emulator test's
cost. The files never change while tests run, so the loaders are shared, one per data path
(`AWS_DATA_PATH`), as one long-lived session's clients already share theirs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import botocore.loaders
import botocore.session
import pytest


@contextmanager
def shared_service_models() -> Iterator[None]:
    """Sessions made inside the block share a loader per data path."""
    loaders: dict[str | None, botocore.loaders.Loader] = {}
    create = botocore.loaders.create_loader

    def shared(search_path_string: str | None = None) -> botocore.loaders.Loader:
        if search_path_string not in loaders:
            loaders[search_path_string] = create(search_path_string)
        return loaders[search_path_string]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", shared)
        yield
