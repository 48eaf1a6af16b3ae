"""The shared UDP endpoint's drop baseline: read from the kernel rarely, never too new;
and its reads between the sends of a burst.

A transaction compares the drop count at its timeout with a baseline taken
when it began. The baseline is a cached reading (one getsockopt per request
was measurable at thousands of probes per second), so what matters is that
a cached value is never above the count when the request left: otherwise a
datagram our socket dropped could go unnoticed and our loss be called the
target's timeout. The kernel counter is replaced here by a counter we drive.
"""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probes.sip.datagram import BASELINE_AGE, CATCH_UP, DatagramEndpoint


class KernelDrops:
    """Stands in for SO_MEMINFO: a count that only grows, and how often it was read."""

    def __init__(self) -> None:
        self.count = 0
        self.reads = 0

    def __call__(self) -> int:
        self.reads += 1
        return self.count


def endpoint(monkeypatch: pytest.MonkeyPatch) -> tuple[DatagramEndpoint, KernelDrops]:
    ep = DatagramEndpoint(lambda d: None, lambda dest, reason, detail: None)
    kernel = KernelDrops()
    monkeypatch.setattr(ep, "drops", kernel)
    return ep, kernel


def test_requests_close_together_share_one_kernel_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    ep, kernel = endpoint(monkeypatch)
    assert ep.drops_baseline(10.0) == 0
    kernel.count = 7  # dropped after the reading: later requests keep the older baseline
    assert ep.drops_baseline(10.0 + BASELINE_AGE / 2) == 0
    assert kernel.reads == 1
    assert ep.drops_baseline(10.0 + BASELINE_AGE * 1.01) == 7
    assert kernel.reads == 2


@given(st.lists(st.tuples(st.floats(0, 0.3), st.integers(0, 50)), min_size=1, max_size=60))
def test_a_baseline_is_a_count_from_just_before_its_request_never_after(
    steps: list[tuple[float, int]],
) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        ep, kernel = endpoint(monkeypatch)
        now = 0.0
        seen: list[tuple[float, int]] = []  # (when, the kernel's count then)
        for advance, dropped in steps:
            now += advance
            kernel.count += dropped  # drops happen between requests
            seen.append((now, kernel.count))
            baseline = ep.drops_baseline(now)
            # no later than now (a timeout's difference misses none of its drops), and
            # from within BASELINE_AGE (only drops near the request are called ours)
            assert baseline in {count for when, count in seen if now - when < BASELINE_AGE}


async def test_catch_up_reads_only_once_a_burst_of_sends_went_unread() -> None:
    """Below `CATCH_UP` sends since the last read it costs one comparison and reads nothing
    (the loop's own reader does); from there it reads what is queued, and counts anew."""
    got: list[bytes] = []
    ep = DatagramEndpoint(lambda d: got.append(d.data), lambda dest, reason, detail: None)
    ep.start(asyncio.get_running_loop())
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        peer.bind(("127.0.0.1", 0))
        dest, ours = ("127.0.0.1", int(peer.getsockname()[1])), ("127.0.0.1", ep.port())
        peer.sendto(b"answer", ours)  # queued on our socket; no await: the loop reads nothing
        time.sleep(0.01)
        for _ in range(CATCH_UP - 1):
            ep.send(b"request", dest)
        ep.catch_up()
        assert got == []
        ep.send(b"request", dest)
        ep.catch_up()
        assert got == [b"answer"]
        peer.sendto(b"again", ours)
        time.sleep(0.01)
        ep.catch_up()  # the read started the count again
        assert got == [b"answer"]
    finally:
        ep.close()
        peer.close()


async def test_a_drain_begun_after_a_deadline_serves_that_deadline_and_no_later_one() -> None:
    """Probes whose deadlines passed by the time a drain began share it (an outage: many
    deadlines a loop turn); a datagram queued since is read for a later deadline."""
    got: list[bytes] = []
    ep = DatagramEndpoint(lambda d: got.append(d.data), lambda dest, reason, detail: None)
    loop = asyncio.get_running_loop()
    ep.start(loop)
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        peer.bind(("127.0.0.1", 0))
        ours = ("127.0.0.1", ep.port())
        peer.sendto(b"first", ours)
        time.sleep(0.01)
        deadline = loop.time()
        assert ep.drain_since(deadline) is True and got == [b"first"]
        peer.sendto(b"second", ours)
        time.sleep(0.01)
        assert ep.drain_since(deadline) is True
        assert got == [b"first"], "the earlier deadline's drain already covered it"
        assert ep.drain_since(loop.time()) is True
        assert got == [b"first", b"second"], "a later deadline reads what came since"
    finally:
        peer.close()
        ep.close()


async def test_a_verdict_reads_drops_at_or_after_its_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ep, kernel = endpoint(monkeypatch)
    loop = asyncio.get_running_loop()
    ep.start(loop)
    try:
        deadline = loop.time()
        kernel.count = 3
        assert ep.drops_since(deadline) == 3
        kernel.count = 5  # after the reading: the same deadline keeps it
        assert ep.drops_since(deadline) == 3 and kernel.reads == 1
        assert ep.drops_since(loop.time() + 1.0) == 5, "a reading older than t is read again"
        assert kernel.reads == 2
    finally:
        ep.close()
