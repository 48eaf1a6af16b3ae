"""The host-speed readings the benches print next to a ratio (bench/hostspeed.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))

from hostspeed import SPREAD_WARNING, HostSpeed, calibrate


def test_a_reading_is_a_positive_duration_in_microseconds() -> None:
    us = calibrate(rounds=2)
    assert 0.5 < us < 10_000  # a few microseconds to a few tens on any machine that runs CI


def test_a_host_that_kept_its_speed_is_not_flagged() -> None:
    host = HostSpeed([("ramp 8000", 10.0), ("SIPp", 11.0), ("end", 10.5)])
    assert host.spread() == 1.1
    assert "WARNING" not in host.summary()
    assert "ramp 8000 10.0, SIPp 11.0, end 10.5; spread 1.10x" in host.summary()


def test_a_host_that_slowed_between_phases_is_flagged_as_not_comparable() -> None:
    host = HostSpeed([("ramp 8000", 10.4), ("SIPp", 24.9)])
    assert host.spread() > SPREAD_WARNING
    assert "WARNING" in host.summary() and "not reliable" in host.summary()


def test_only_the_phases_a_ratio_is_taken_from_decide_the_warning() -> None:
    """A first ramp step that ran slow but held does not make the maximum's step and
    SIPp's incomparable; it stays listed."""
    host = HostSpeed([("ramp 8000", 13.6), ("ramp 12500", 8.2), ("SIPp", 8.9), ("end", 8.3)])
    summary = host.summary(compared=("ramp 12500", "SIPp", "end"))
    assert "WARNING" not in summary and "ramp 8000 13.6" in summary
    assert "spread (ramp 12500, SIPp, end) 1.09x" in summary
    assert "WARNING" in host.summary()


def test_read_appends_a_labelled_reading() -> None:
    host = HostSpeed()
    us = host.read("monitord")
    assert host.readings == [("monitord", us)] and host.spread() == 1.0
