"""Print a table of the synthesized stacks: stack, model, environment, bundle sha256 and size."""

from __future__ import annotations

import argparse
from pathlib import Path

from ops.tables import aligned
from stacks.templates import read_assembly


def _size(value: int) -> str:
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{value} B"


def table(outdir: Path) -> str:
    """One row per stack of the assembly, by name; "-" where a stack deploys no model bundle."""
    rows = [("stack", "model", "environment", "bundle sha256", "size")]
    for stack in sorted(read_assembly(outdir), key=lambda s: s.name):
        bundle = stack.bundle
        if bundle is None:
            rows.append((stack.name, "-", "-", "-", "-"))
            continue
        rows.append(
            (stack.name, bundle.model, bundle.environment, bundle.sha256, _size(bundle.bytes))
        )
    return aligned(rows)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "outdir",
        nargs="?",
        default="cdk.out",
        type=Path,
        help="cloud assembly folder (default: cdk.out)",
    )


def run(args: argparse.Namespace) -> int:
    print(table(args.outdir))
    return 0
