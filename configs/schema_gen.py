"""Write the JSON Schemas editors use for the config files: `python -m configs.schema_gen`.

Each YAML file points at its schema with a `# yaml-language-server: $schema=...` comment, so
editors complete and check keys as they are typed. A test fails when a committed schema no
longer matches the pydantic models.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from configs.environment import Environment
from configs.model import ModelFile

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
SCHEMAS: dict[str, type[BaseModel]] = {
    "environment.schema.json": Environment,
    "model.schema.json": ModelFile,
}


def render(model: type[BaseModel]) -> str:
    schema = model.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main(check: bool = False) -> int:
    stale = []
    SCHEMA_DIR.mkdir(exist_ok=True)
    for name, model in SCHEMAS.items():
        path = SCHEMA_DIR / name
        text = render(model)
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"stale schemas: {stale}; run `make schemas`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(check="--check" in sys.argv))
