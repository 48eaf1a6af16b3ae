"""RFC 3550 A.1/A.3/A.8 receive statistics on crafted sequences."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probes.rtp.stats import ReceiveStats, Verdict

PTIME = 0.02
SAMPLES = 160


def feed(stats: ReceiveStats, seqs: list[int], start: int = 0) -> list[Verdict]:
    """Send `seqs` (offsets from `start`), each on time: arrival and timestamp follow the offset."""
    return [
        stats.receive((start + s) % 65536, (s * SAMPLES) % 2**32, s * PTIME) for s in seqs
    ]


def test_probation_then_clean_stream() -> None:
    stats = ReceiveStats()
    verdicts = feed(stats, list(range(50)))
    assert verdicts[0] is Verdict.PROBATION  # A.1: MIN_SEQUENTIAL = 2
    assert set(verdicts[1:]) == {Verdict.ACCEPTED}
    snap = stats.snapshot()
    assert snap.valid
    # A.1 counts from the packet that ended probation.
    assert (snap.expected, snap.received, snap.lost) == (49, 49, 0)
    assert snap.jitter == pytest.approx(0.0, abs=1e-9)
    assert snap.burst_ratio == 1.0
    assert snap.loss_fraction == 0.0


def test_probation_restarts_on_a_gap() -> None:
    stats = ReceiveStats()
    assert stats.receive(10, 0, 0.0) is Verdict.PROBATION
    assert stats.receive(12, 320, 0.04) is Verdict.PROBATION  # not 11: probation restarts
    assert not stats.valid
    assert stats.receive(13, 480, 0.06) is Verdict.ACCEPTED
    assert stats.snapshot().expected == 1


def test_sequence_wrap_counts_a_cycle() -> None:
    stats = ReceiveStats()
    feed(stats, list(range(100)), start=65500)
    snap = stats.snapshot()
    assert snap.extended_max_sequence == 65536 + (65500 + 99 - 65536)
    assert (snap.expected, snap.lost) == (99, 0)
    assert stats.report().extended_highest_sequence == 65536 + 63


def test_loss_and_fraction_lost_per_interval() -> None:
    stats = ReceiveStats()
    feed(stats, [s for s in range(101) if s not in {10, 11, 50}])
    snap = stats.snapshot()
    assert (snap.expected, snap.lost, snap.bursts) == (100, 3, 2)
    first = stats.report()
    assert first.cumulative_lost == 3
    assert first.fraction_lost == (3 << 8) // 100  # A.3: (lost_interval << 8) / expected_interval
    feed(stats, list(range(101, 201)))
    second = stats.report()
    assert (second.fraction_lost, second.cumulative_lost) == (0, 3)


def test_reordered_packet_fills_its_gap() -> None:
    stats = ReceiveStats()
    verdicts = feed(stats, [0, 1, 2, 4, 3, 5, 6])
    assert verdicts[4] is Verdict.REORDERED
    snap = stats.snapshot()
    assert (snap.lost, snap.reordered, snap.duplicates, snap.bursts) == (0, 1, 0, 0)


def test_duplicates_do_not_hide_loss() -> None:
    stats = ReceiveStats()
    verdicts = feed(stats, [0, 1, 2, 2, 4, 3, 3, 6, 6])  # 5 lost; 2, 3 and 6 duplicated
    assert verdicts.count(Verdict.DUPLICATE) == 3
    snap = stats.snapshot()
    assert (snap.expected, snap.received, snap.duplicates, snap.lost) == (6, 8, 3, 1)
    # The RFC's own figure (expected - received) goes negative with duplicates (A.3).
    assert stats.report().cumulative_lost == -2


def test_reorder_and_duplicate_across_the_wrap() -> None:
    stats = ReceiveStats()
    verdicts = [stats.receive(s, 0, 0.0) for s in (65533, 65534, 65535, 1, 0, 0, 2)]
    assert verdicts[4] is Verdict.REORDERED
    assert verdicts[5] is Verdict.DUPLICATE
    snap = stats.snapshot()
    assert snap.extended_max_sequence == 65536 + 2
    assert (snap.expected, snap.lost) == (5, 0)


def test_large_jump_is_discarded_until_confirmed() -> None:
    stats = ReceiveStats()
    feed(stats, list(range(10)))
    assert stats.receive(20000, 0, 1.0) is Verdict.DISCARDED  # A.1: >= MAX_DROPOUT ahead
    assert stats.receive(10, 1600, 0.2) is Verdict.ACCEPTED  # the stream goes on
    assert stats.receive(20001, 0, 1.02) is Verdict.ACCEPTED  # confirmed: the sender restarted
    snap = stats.snapshot()
    assert (snap.restarts, snap.expected, snap.received) == (1, 1, 1)


def test_old_packet_beyond_misorder_is_discarded() -> None:
    stats = ReceiveStats()
    feed(stats, list(range(300)))
    assert stats.receive(100, 0, 6.0) is Verdict.DISCARDED  # 199 behind > MAX_MISORDER


def test_forward_gap_under_max_dropout_is_loss() -> None:
    stats = ReceiveStats()
    feed(stats, [0, 1, 2, 2000])
    snap = stats.snapshot()
    assert (snap.expected, snap.lost, snap.bursts) == (2000, 1997, 1)
    assert snap.mean_burst_length == 1997


def test_jitter_follows_a8_recursion() -> None:
    # Packets sent every 20 ms; every other one is delayed by 10 ms, so each
    # |D| is 80 timestamp units and J(i) = J(i-1) + (80 - J(i-1))/16.
    stats = ReceiveStats()
    expected = 0.0
    for n in range(40):
        stats.receive(n, n * SAMPLES, n * PTIME + (0.010 if n % 2 else 0.0))
        if n >= 2:  # n = 0 is probation, n = 1 sets the first transit
            expected += (80 - expected) / 16
    snap = stats.snapshot()
    assert snap.jitter == pytest.approx(expected)
    assert snap.jitter_seconds == pytest.approx(expected / 8000)
    assert stats.report().jitter == int(expected)


def test_jitter_ignores_rtp_timestamp_wrap() -> None:
    stats = ReceiveStats()
    base = 2**32 - 3 * SAMPLES
    for n in range(10):
        stats.receive(n, (base + n * SAMPLES) % 2**32, 100.0 + n * PTIME)
    assert stats.snapshot().jitter == pytest.approx(0.0, abs=1e-6)


def test_burst_ratio_for_bursty_loss() -> None:
    # Bursts of 3 every 100 packets: p = 0.03, mean burst 3, BurstR = 3 * (1 - p).
    stats = ReceiveStats()
    feed(stats, [s for s in range(1001) if s % 100 not in (50, 51, 52)])
    snap = stats.snapshot()
    assert (snap.expected, snap.lost, snap.bursts) == (1000, 30, 10)
    assert snap.mean_burst_length == 3
    assert snap.burst_ratio == pytest.approx(3 * (1 - 0.03))


def test_burst_ratio_for_isolated_loss() -> None:
    stats = ReceiveStats()
    feed(stats, [s for s in range(1001) if s % 50 != 25])
    snap = stats.snapshot()
    assert snap.burst_ratio == pytest.approx(1 - 20 / 1000)  # less bursty than random


def test_arguments_are_checked() -> None:
    stats = ReceiveStats()
    with pytest.raises(ValueError):
        stats.receive(65536, 0, 0.0)
    with pytest.raises(ValueError):
        stats.receive(0, 2**32, 0.0)
    with pytest.raises(ValueError):
        stats.receive(0, 0, float("nan"))
    with pytest.raises(ValueError):
        ReceiveStats(clock_rate=0)


@st.composite
def impaired_streams(draw: st.DrawFn) -> tuple[int, int, set[int], list[int], list[int]]:
    """A stream with drops, duplicates and local reordering (< MAX_MISORDER)."""
    n = draw(st.integers(3, 400))
    start = draw(st.integers(0, 65535))
    middle = range(2, n - 1)  # the first two (probation) and the last arrive in order
    dropped = set(draw(st.lists(st.sampled_from(middle), unique=True, max_size=n // 3))) if n > 3 else set()
    order = [s for s in range(n) if s not in dropped]
    dups = draw(st.lists(st.sampled_from(order[2:-1]), max_size=10)) if len(order) > 3 else []
    arrival = list(order)
    for dup in dups:
        arrival.insert(arrival.index(dup) + draw(st.integers(1, 5)), dup)
    # local swaps inside the middle part
    for _ in range(draw(st.integers(0, 20))):
        i = draw(st.integers(2, max(2, len(arrival) - 3)))
        j = min(len(arrival) - 2, i + draw(st.integers(1, 30)))
        if i < j:
            arrival[i], arrival[j] = arrival[j], arrival[i]
    return n, start, dropped, arrival, dups


@given(impaired_streams())
def test_loss_and_duplicates_are_exact_under_impairment(
    case: tuple[int, int, set[int], list[int], list[int]],
) -> None:
    n, start, dropped, arrival, dups = case
    stats = ReceiveStats()
    for s in arrival:
        stats.receive((start + s) % 65536, s * SAMPLES, s * PTIME)
    snap = stats.snapshot()
    assert snap.expected == n - 1
    assert snap.lost == len(dropped)
    assert snap.duplicates == len(dups)
    runs = sum(1 for s in dropped if s - 1 not in dropped)
    assert snap.bursts == runs
    assert stats.report().cumulative_lost == len(dropped) - len(dups)
