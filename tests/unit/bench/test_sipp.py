"""SIPp as the OPTIONS bench runs it: the reference gets the socket buffer the daemon has."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))

from options_throughput import SIPP_BUFFER, sipp_uac_argv

from probes.datagrams import RECEIVE_BUFFER


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_sipps_uac_reads_with_the_receive_buffer_the_daemon_asks_for() -> None:
    """With SIPp's 64 KB default its UAC dropped its own answers above ~10,000/s and its
    "maximum" measured that buffer, not SIPp: the ratio must compare like with like."""
    argv = sipp_uac_argv(5060, 20_000.0, 60_000, None, timeout=10.0)
    assert SIPP_BUFFER == RECEIVE_BUFFER
    assert int(_option(argv, "-buff_size")) == RECEIVE_BUFFER
    assert _option(argv, "-r") == "20000" and _option(argv, "-m") == "60000"


def test_sipps_uac_is_pinned_to_the_core_it_is_measured_on() -> None:
    argv = sipp_uac_argv(5060, 1000.0, 20_000, 0, timeout=10.0)
    assert argv[:3] == ["taskset", "-c", "0"] and argv[3] == "sipp"
    assert sipp_uac_argv(5060, 1000.0, 20_000, None, timeout=10.0)[0] == "sipp"
