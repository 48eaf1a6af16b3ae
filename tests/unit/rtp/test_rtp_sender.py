"""Pacing by absolute deadlines and the packetiser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probes.rtp.g711 import Law, reference_signal
from probes.rtp.packet import parse_rtp
from probes.rtp.sender import PacingSchedule, Packetiser
from probes.rtp.stats import ReceiveStats


def test_deadlines_are_absolute() -> None:
    schedule = PacingSchedule(start=1000.0)
    assert schedule.deadline(0) == 1000.0
    assert schedule.deadline(1) == pytest.approx(1000.02)
    # No accumulated drift: packet 180,000 (one hour) is exactly one hour later.
    assert schedule.deadline(180_000) == pytest.approx(1000.0 + 3600.0, abs=1e-9)


def test_a_late_wakeup_sends_the_backlog_without_shifting_the_schedule() -> None:
    schedule = PacingSchedule(start=10.0)
    assert schedule.due(9.999) == 0
    assert schedule.due(10.0) == 1
    assert schedule.due(10.019) == 1
    # The loop stalled for 75 ms: packets 1..4 are all due now...
    assert schedule.due(10.095) == 5
    # ...and the next wake-up is still on the original grid.
    assert schedule.next_deadline(5) == pytest.approx(10.1)
    assert schedule.lateness(1, 10.095) == pytest.approx(0.075)


def test_bounded_stream_ends() -> None:
    schedule = PacingSchedule(start=0.0, count=3)
    assert schedule.due(100.0) == 3
    assert schedule.next_deadline(3) is None


@given(st.floats(-1e6, 1e6), st.floats(0.001, 0.5), st.floats(0, 1e4))
def test_due_agrees_with_deadlines(start: float, ptime: float, offset: float) -> None:
    schedule = PacingSchedule(start=start, ptime=ptime)
    now = start + offset
    n = schedule.due(now)
    assert schedule.deadline(n - 1) <= now < schedule.deadline(n)


@pytest.mark.parametrize(
    "kwargs", [{"start": float("inf")}, {"start": 0.0, "ptime": 0.0}, {"start": 0.0, "count": -1}]
)
def test_schedule_validates(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        PacingSchedule(**kwargs)  # type: ignore[arg-type]


def test_packetiser_numbers_and_wraps() -> None:
    signal = reference_signal(Law.PCMA)
    packetiser = Packetiser(signal, ssrc=0x1234, first_sequence=65535, first_timestamp=2**32 - 160)
    first, second = packetiser.packet(0), packetiser.packet(1)
    assert (first.payload_type, first.marker, first.sequence, first.timestamp) == (8, True, 65535, 2**32 - 160)
    assert (second.marker, second.sequence, second.timestamp) == (False, 0, 0)
    assert packetiser.packet(50).payload == signal.frames[0]  # the signal loops every second
    assert parse_rtp(first.serialize()) == first


def test_packetised_stream_measures_clean() -> None:
    # Sender and receiver cores wired together with no socket: on-time
    # packets must show no loss and no jitter of the sender's own.
    schedule = PacingSchedule(start=5.0)
    packetiser = Packetiser(reference_signal(Law.PCMU), ssrc=1, first_sequence=65000, first_timestamp=123)
    stats = ReceiveStats()
    for n in range(1000):
        packet = parse_rtp(packetiser.packet(n).serialize())
        stats.receive(packet.sequence, packet.timestamp, schedule.deadline(n) + 0.030)
    snap = stats.snapshot()
    assert (snap.lost, snap.duplicates) == (0, 0)
    assert snap.jitter == pytest.approx(0.0, abs=1e-6)


def test_packetiser_validates() -> None:
    with pytest.raises(ValueError):
        Packetiser(reference_signal(Law.PCMU), ssrc=2**32, first_sequence=0, first_timestamp=0)
    with pytest.raises(ValueError):
        Packetiser(reference_signal(Law.PCMU), ssrc=0, first_sequence=0, first_timestamp=0).packet(-1)


def test_wake_lead_follows_the_observed_delay_within_its_limit() -> None:
    from probes.rtp.sender import WakeLead

    lead = WakeLead(lead=0.0005, gain=0.5, limit=0.001)
    steps = [  # observed wake delay -> lead after it
        (0.0009, 0.0007),  # an idle loop: epoll's ms rounding makes wakes late
        (0.0009, 0.0008),
        (0.0, 0.0004),  # a busy loop runs the timer at once
        (0.050, 0.0007),  # a 50 ms stall counts as the 1 ms limit, no more
        (-0.001, 0.00035),  # clock noise never makes the lead negative
    ]
    for delay, expected in steps:
        lead.observe(delay)
        assert lead.lead == pytest.approx(expected)
