"""The emulator as a process: it listens on loopback only, refuses a second start and stops."""

from __future__ import annotations

import socket
import urllib.request
from pathlib import Path

import pytest

import ops.emulator as emulator


def test_emulator_listens_on_loopback_only_and_stops(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    handle = emulator.start(state)
    try:
        assert handle.url == f"http://localhost:{handle.port}"
        assert emulator.status(state) == handle
        with urllib.request.urlopen(f"{handle.url}/moto-api/", timeout=5) as response:  # noqa: S310
            assert response.status == 200
        assert _listening_addresses(handle.port) == {"127.0.0.1"}
        with pytest.raises(emulator.EmulatorError, match="already running"):
            emulator.start(state)
    finally:
        assert emulator.stop(state)
    assert emulator.status(state) is None
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", handle.port), timeout=2):
        pass


def _listening_addresses(port: int) -> set[str]:
    """Local addresses in LISTEN state on `port`, from /proc/net/tcp{,6}."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:
                if len(address) == 8:
                    found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
                else:
                    found.add(address)
    return found
