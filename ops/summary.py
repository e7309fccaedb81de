"""Print a table of the synthesized stacks: stack, model, environment, bundle sha256 and size."""

from __future__ import annotations

import argparse
from pathlib import Path

from ops.assembly import read_stacks


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "outdir",
        nargs="?",
        default="cdk.out",
        type=Path,
        help="cloud assembly folder (default: cdk.out)",
    )


def table(outdir: Path) -> str:
    rows = [("stack", "model", "environment", "bundle sha256", "size")]
    for stack in sorted(read_stacks(outdir), key=lambda s: s.name):
        bundle = stack.bundle
        rows.append(
            (
                stack.name,
                str(bundle.get("model", "-")),
                str(bundle.get("environment", "-")),
                str(bundle.get("sha256", "-")),
                _size(bundle.get("bytes")),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _size(value: object) -> str:
    if not isinstance(value, int):
        return "-"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{value} B"


def run(args: argparse.Namespace) -> int:
    print(table(args.outdir))
    return 0
