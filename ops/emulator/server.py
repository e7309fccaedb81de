"""The emulator's own process: `python -m ops.emulator.server --state <file>`.

Installs the extensions and the AWS behaviours (`ops.emulator.behaviours`), runs the alarm
evaluator on the scaled clock (`EMULATOR_TIME_SCALE`), serves moto on 127.0.0.1 (port 0: the
kernel picks a free one), writes `{"pid", "port", "url"}` to the state file once it accepts
connections, and on SIGTERM/SIGINT stops the evaluator, deployments and model servers it started,
then itself.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

HOST = "127.0.0.1"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.emulator.server")
    parser.add_argument("--state", type=Path, required=True, help="where to write pid and port")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)

    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    from ops.emulator import behaviours, delivery, guardrails, model_servers
    from ops.emulator.alarm_evaluator import Evaluator
    from ops.emulator.clock import emulator_clock
    from ops.emulator.extensions import install

    clock = emulator_clock()  # fails here, before serving, if EMULATOR_TIME_SCALE is wrong
    model_servers.configure(record=args.state.with_suffix(".servers"))
    install()
    behaviours.install()
    server = ThreadedMotoServer(ip_address=HOST, port=args.port, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    state = {"pid": os.getpid(), "port": port, "url": f"http://localhost:{port}"}
    delivery.configure(base_url=f"http://localhost:{port}")
    evaluator = Evaluator(clock=clock).start()
    partial = args.state.with_name(args.state.name + ".partial")
    partial.write_text(json.dumps(state))
    partial.replace(args.state)

    stopping = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        stopping.wait()
    finally:
        evaluator.stop()
        guardrails.stop_all()
        model_servers.shutdown()
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
