"""The dead targets the OPTIONS bench's --outage points every check at (bench/options_throughput.py)."""

from __future__ import annotations

import contextlib
import socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))

from options_throughput import outage_port


def test_a_silent_target_takes_datagrams_and_answers_none_until_the_run_ends() -> None:
    with contextlib.ExitStack() as held:
        port = outage_port("silent", held)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.settimeout(0.2)
            probe.sendto(b"OPTIONS sip:x SIP/2.0\r\n\r\n", ("127.0.0.1", port))
            with pytest.raises(TimeoutError):  # neither an answer nor "connection refused"
                probe.recvfrom(2048)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other, \
                    pytest.raises(OSError):
                other.bind(("127.0.0.1", port))  # held for the whole run
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as after:
        after.bind(("127.0.0.1", port))  # and let go after it


def test_a_refused_target_has_nothing_listening() -> None:
    with contextlib.ExitStack() as held:
        port = outage_port("refused", held)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.settimeout(1.0)
            probe.connect(("127.0.0.1", port))
            probe.send(b"OPTIONS sip:x SIP/2.0\r\n\r\n")
            with pytest.raises(ConnectionRefusedError):
                probe.recv(2048)
