"""`python -m ops <command>`: one entry point for the operational helpers."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from ops import deploy_local, promote, retire, serve, summary, verify
from ops.diff import command as diff
from ops.diff import synth as diff_synth
from ops.drift import command as drift
from ops.drill import command as drill
from ops.emulator import command as emulator_command
from ops.runs import command as runs

# Each command module exposes `add_arguments(parser)` and `run(args) -> int`.
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[..., int]]] = {
    "summary": (summary.__doc__ or "", summary.add_arguments, summary.run),
    "diff": (diff.__doc__ or "", diff.add_arguments, diff.run),
    "diff-synth": (diff_synth.__doc__ or "", diff_synth.add_arguments, diff_synth.run),
    "verify": (verify.__doc__ or "", verify.add_arguments, verify.run),
    "retire": (retire.__doc__ or "", retire.add_arguments, retire.run),
    "serve": (serve.__doc__ or "", serve.add_arguments, serve.run),
    "promote": (promote.__doc__ or "", promote.add_arguments, promote.run),
    "deploy-local": (deploy_local.__doc__ or "", deploy_local.add_arguments, deploy_local.run),
    "drill": (drill.__doc__ or "", drill.add_arguments, drill.run),
    "drift": (drift.__doc__ or "", drift.add_arguments, drift.run),
    "runs": (runs.__doc__ or "", runs.add_arguments, runs.run),
    "emulator": (
        emulator_command.__doc__ or "",
        emulator_command.add_arguments,
        emulator_command.run,
    ),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (doc, add_arguments, run) in COMMANDS.items():
        sub = commands.add_parser(name, help=doc.strip().splitlines()[0], description=doc)
        add_arguments(sub)
        sub.set_defaults(run=run)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
