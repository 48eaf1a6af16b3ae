"""Reboot detection across polls: uptime in, RebootDetected out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitord.core.reboots import RebootDetector
from probes.snmp.oids import TIMETICKS_WRAP_SECONDS

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_a_decrease_is_a_reboot_and_a_steady_rise_is_not() -> None:
    d = RebootDetector()
    assert d.observe("pbx", "dev", 100.0, T0) is None  # nothing to compare with yet
    assert d.observe("pbx", "dev", 110.0, T0 + timedelta(seconds=10)) is None
    assert d.observe("pbx", "dev", 110.0, T0 + timedelta(seconds=10)) is None  # same reading twice
    reboot = d.observe("pbx", "dev", 3.0, T0 + timedelta(seconds=20))
    assert reboot is not None and (reboot.previous_uptime, reboot.uptime) == (110.0, 3.0)
    assert reboot.booted_at == T0 + timedelta(seconds=17)
    assert d.observe("pbx", "dev", 13.0, T0 + timedelta(seconds=30)) is None
    assert d.observe("other", "dev", 1.0, T0) is None  # per check


def test_a_timeticks_wrap_is_not_a_reboot() -> None:
    d = RebootDetector()
    before = TIMETICKS_WRAP_SECONDS - 5.0
    d.observe("pbx", "dev", before, T0)
    assert d.observe("pbx", "dev", 5.0, T0 + timedelta(seconds=10)) is None
    d2 = RebootDetector()
    d2.observe("pbx", "dev", before, T0)
    assert d2.observe("pbx", "dev", 5000.0, T0 + timedelta(seconds=10)) is not None
