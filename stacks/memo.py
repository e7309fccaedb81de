"""Computed JSON strings remembered on disk by key: what synth asks the sagemaker SDK.

Image look-ups and pipeline definitions share one file next to the bundle cache. A key holds
every input of the answer (the SDK's version included), so the memo changes no template: it only
skips the SDK's import. Losing or corrupting the file only costs time.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

MEMO_FILE = "sdk-memo.json"


class JsonMemo:
    """Answers by key, loaded once and written back once if they changed.

    Args:
        path: the memo file; None keeps answers in memory only.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._answers = self._load()
        self._changed = False

    @classmethod
    def in_folder(cls, folder: Path | None) -> JsonMemo:
        """The memo file of a cache folder (None: in memory only)."""
        return cls(folder / MEMO_FILE if folder is not None else None)

    def remember(self, key: str, compute: Callable[[], str]) -> str:
        """The answer under `key`, computed (and remembered) on first use."""
        answer = self._answers.get(key)
        if answer is None:
            answer = self._answers[key] = compute()
            self._changed = True
        return answer

    def save(self) -> None:
        """Write the answers back, atomically, if any were learned."""
        if not self._changed or self.path is None:
            return
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(
                prefix=f".{self.path.name}.", suffix=".partial", dir=self.path.parent
            )
            try:
                with os.fdopen(fd, "w") as handle:
                    json.dump(self._answers, handle, indent=1, sort_keys=True)
                Path(tmp).replace(self.path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    Path(tmp).unlink()
        self._changed = False

    def _load(self) -> dict[str, str]:
        if self.path is None:
            return {}
        try:
            loaded = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return {}
        if not isinstance(loaded, dict):
            return {}
        return {str(k): str(v) for k, v in loaded.items() if isinstance(v, str)}
