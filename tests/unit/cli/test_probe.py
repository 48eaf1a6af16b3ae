"""`monitord probe snmp://`: TimeTicks shown as time a person reads, the raw ticks kept."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitord.cli.probe import format_ticks, show_value


@pytest.mark.parametrize(
    ("ticks", "text"),
    [
        (0, "00:00:00.00"),
        (123456, "00:20:34.56"),
        (8_640_000, "1 day 00:00:00.00"),
        (2**32 - 1, "497 days 02:27:52.95"),  # where a 32-bit TimeTicks wraps
    ],
)
def test_format_ticks(ticks: int, text: str) -> None:
    assert format_ticks(ticks) == text


@given(st.integers(0, 2**32 - 1))
def test_format_ticks_keeps_every_centisecond(ticks: int) -> None:
    text = format_ticks(ticks)
    days, _, clock = text.rpartition(" ")
    h, m, s = clock.split(":")
    total = (int(days.split()[0]) if days else 0) * 86400 + int(h) * 3600 + int(m) * 60
    assert round((total + float(s)) * 100) == ticks


def test_uptime_objects_are_readable_and_others_untouched() -> None:
    assert show_value("1.3.6.1.2.1.1.3.0", 123456) == "00:20:34.56 (sysUpTime, 123456 ticks)"
    assert show_value("1.3.6.1.2.1.25.1.1.0", 8_640_000).startswith("1 day 00:00:00.00")
    assert show_value("1.3.6.1.2.1.2.2.1.9.3", 5).endswith("(ifLastChange, 5 ticks)")
    assert show_value("1.3.6.1.2.1.1.5.0", "pbx1") == "'pbx1'"
    assert show_value("1.3.6.1.2.1.1.30.0", 123) == "123"  # shares digits, not the subtree
    assert show_value("1.3.6.1.2.1.1.3.0", "x") == "'x'"
