"""Start, stop or show the local AWS emulator (moto server with the project's extensions).

`start` prints the environment variables that point the AWS CLI, boto3 and the CDK CLI at it;
`stop` ends it and every model server it started.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import ops.emulator as emulator


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("start", "stop", "status"))
    parser.add_argument(
        "--state", type=Path, default=emulator.DEFAULT_STATE, help=argparse.SUPPRESS
    )


def run(args: argparse.Namespace) -> int:
    if args.action == "start":
        try:
            handle = emulator.start(args.state)
        except emulator.EmulatorError as error:
            print(error)
            return 1
        print(f"emulator running at {handle.url} (pid {handle.pid}, log {handle.log_file})")
        print("point AWS clients at it with:")
        for key, value in handle.environment().items():
            print(f"  export {key}={value}")
        print("stop it with: python -m ops emulator stop")
        return 0
    if args.action == "stop":
        stopped = emulator.stop(args.state)
        print("emulator stopped" if stopped else "no emulator was running")
        return 0
    found = emulator.status(args.state)
    print(f"emulator running at {found.url} (pid {found.pid})" if found else "not running")
    return 0 if found else 1
