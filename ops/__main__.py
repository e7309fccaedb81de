"""`python -m ops <command>`: one entry point for the operational helpers."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Each command module exposes `add_arguments(parser)` and `run(args) -> int`. Only the module of
# the command given is imported (all of them for `--help`): some pull in heavy libraries (the
# drift command scipy), which every other command would pay for at start-up, `make diff` twice.
COMMANDS: dict[str, str] = {
    "summary": "ops.summary",
    "diff": "ops.diff.command",
    "diff-synth": "ops.diff.synth",
    "verify": "ops.verify",
    "retire": "ops.retire",
    "serve": "ops.serve",
    "promote": "ops.promote",
    "deploy-local": "ops.deploy_local",
    "drill": "ops.drill.command",
    "drift": "ops.drift.command",
    "runs": "ops.runs.command",
    "emulator": "ops.emulator.command",
}


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    chosen = [arguments[0]] if arguments and arguments[0] in COMMANDS else list(COMMANDS)
    parser = argparse.ArgumentParser(prog="python -m ops", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in chosen:
        module = importlib.import_module(COMMANDS[name])
        doc = module.__doc__ or ""
        sub = commands.add_parser(name, help=doc.strip().splitlines()[0], description=doc)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    args = parser.parse_args(arguments)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
