"""The shared RTP send timer: every stream wakes on one loop timer, in deadline order."""

from __future__ import annotations

import asyncio

from probes.rtp.pacer import Pacer


class Stream:
    """Sends `count` packets every `ptime` from `start`; records the horizons it was paced at."""

    def __init__(self, name: str, start: float, ptime: float, count: int,
                 log: list[tuple[str, int, float]]) -> None:
        self.name, self.start, self.ptime, self.count, self.log = name, start, ptime, count, log
        self.sent = 0

    def pace(self, horizon: float) -> float | None:
        while self.sent < self.count and self.start + self.sent * self.ptime <= horizon:
            self.log.append((self.name, self.sent, horizon))
            self.sent += 1
        return None if self.sent >= self.count else self.start + self.sent * self.ptime


async def test_streams_are_paced_in_deadline_order_and_finish() -> None:
    pacer = Pacer()
    pacer.lead.lead = 0.0
    log: list[tuple[str, int, float]] = []
    far = asyncio.get_running_loop().time() + 3600  # deadlines the loop timer never reaches
    a, b = Stream("a", far, 0.02, 3, log), Stream("b", far + 0.005, 0.02, 3, log)
    for stream in (a, b):
        pacer.schedule(stream, stream.start)
    for offset in (0.001, 0.006, 0.021, 0.026, 0.041, 0.046):
        pacer.run_due(far + offset)
    assert [(n, i) for n, i, _ in log] == [("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2),
                                           ("b", 2)]
    assert len(pacer) == 0  # both done: nothing left to wake for


def one_stream_far_ahead(packets: int) -> tuple[Pacer, Stream, list[tuple[str, int, float]], float]:
    """A pacer with a 1 ms wake lead and one stream starting an hour from now (its
    timer never fires during the test: the test drives it)."""
    pacer = Pacer()
    pacer.lead.lead = 0.001
    log: list[tuple[str, int, float]] = []
    far = asyncio.get_running_loop().time() + 3600
    s = Stream("s", far, 0.02, packets, log)
    pacer.schedule(s, far)
    return pacer, s, log, far


async def test_a_packet_due_within_the_lead_goes_at_this_wake() -> None:
    pacer, s, log, far = one_stream_far_ahead(2)
    pacer.run_due(far - 0.0005)  # deadline `far` is within the lead of 0.5 ms before it
    pacer.run_due(far + 0.0185)  # packet 1 (far + 20 ms) is not: 1.5 ms away
    assert [(n, i) for n, i, _ in log] == [("s", 0)]
    pacer.cancel(s)


async def test_one_loop_timer_paces_many_streams_and_cancel_stops_one() -> None:
    loop = asyncio.get_running_loop()
    pacer = Pacer()
    log: list[tuple[str, int, float]] = []
    start = loop.time() + 0.01
    streams = [Stream(f"s{i}", start + i * 0.001, 0.01, 5, log) for i in range(10)]
    for s in streams:
        pacer.schedule(s, s.start)
    pacer.cancel(streams[0])
    await asyncio.sleep(0.12)
    assert {n for n, _, _ in log} == {f"s{i}" for i in range(1, 10)}
    for s in streams[1:]:
        assert s.sent == 5
        mine = [horizon for n, _, horizon in log if n == s.name]
        # every packet left once its deadline was within the lead of a wake
        assert all(horizon >= s.start + i * s.ptime for i, horizon in enumerate(mine))
    assert len(pacer) == 0 and pacer._timer is None


async def test_catching_up_sends_what_is_due_now_and_nothing_early() -> None:
    """Between the datagrams of a long loop turn, a reader lets due packets go (their
    timer would only run after the turn); the wake lead is not applied then, since
    nothing woke late."""
    pacer, s, log, far = one_stream_far_ahead(3)
    pacer.catch_up(far - 0.0005)  # within the lead, but not due: it waits for its timer
    assert log == []
    pacer.catch_up(far + 0.0002)
    assert [(n, i) for n, i, _ in log] == [("s", 0)]
    pacer.catch_up(far + 0.0199)  # packet 1 is due at far + 20 ms
    pacer.catch_up(far + 0.0201)
    assert [(n, i) for n, i, _ in log] == [("s", 0), ("s", 1)]
    pacer.cancel(s)
