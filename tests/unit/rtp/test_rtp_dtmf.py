"""RFC 4733 events: the packets a plan makes, and one digit per event received."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probes.errors import InvalidValue
from probes.rtp.dtmf import DtmfPlan, DtmfReceiver, event_payload, parse_event


def test_a_digit_spans_five_packets_then_two_more_ends() -> None:
    plan = DtmfPlan("5", (0.1,))
    packets = [plan.packet(n) for n in range(4, 13)]
    assert packets[0] is None and packets[-1] is None
    events = [p for p in packets if p is not None]
    assert len(events) == 7
    assert [back for back, _, _ in events] == list(range(7))  # timestamp of the start
    assert [marker for _, marker, _ in events] == [True] + [False] * 6
    parsed = [parse_event(payload) for _, _, payload in events]
    assert [e.duration for e in parsed] == [160, 320, 480, 640, 800, 800, 800]
    assert [e.end for e in parsed] == [False] * 4 + [True] * 3
    assert {e.digit for e in parsed} == {"5"}


def test_overlapping_digits_and_bad_digits_are_refused() -> None:
    with pytest.raises(InvalidValue, match="overlap"):
        DtmfPlan("12", (1.0, 1.1))
    with pytest.raises(InvalidValue, match="not a DTMF digit"):
        DtmfPlan("X", (1.0,))


def test_added_digits_take_the_next_free_slot() -> None:
    plan = DtmfPlan("1", (0.0,))
    assert plan.add("2", 3) == 7 and plan.add("3", 7) == 14
    assert plan.digits == "123"


def test_the_receiver_counts_each_event_once_by_its_timestamp() -> None:
    rx = DtmfReceiver()
    for ts, end in ((800, False), (800, False), (800, True), (800, True), (2400, True)):
        rx.receive(ts, event_payload(11 if ts == 800 else 3, end, 800))
    assert rx.digits == "#3"
    rx.receive(9000, b"\x01")
    assert rx.malformed == 1


@given(st.binary(max_size=8))
def test_any_payload_parses_or_is_malformed(data: bytes) -> None:
    rx = DtmfReceiver()
    rx.receive(1, data)
    assert rx.malformed == (1 if len(data) < 4 else 0)
