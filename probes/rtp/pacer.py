"""One send timer for the RTP streams of every call on a loop.

Why: each call sends a packet every 20 ms. With a loop timer per call, 500
calls are 25,000 timers a second: each one an asyncio `TimerHandle` pushed on
and popped off the loop's heap (compared in Python), and a loop iteration of
its own. The pacer keeps the streams' next deadlines in one heap of tuples
(compared in C) and arms one loop timer for the earliest; when it fires,
every stream whose packet is due within the wake lead of now sends it, in
deadline order. The pacing rule is unchanged (sender.py: absolute deadlines,
a lead that follows the observed wake delay); the lead is the pacer's,
shared, since all streams wake on the same timer.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from typing import Protocol

from .sender import WakeLead

__all__ = ["Paced", "Pacer"]


class Paced(Protocol):
    def pace(self, horizon: float) -> float | None:
        """Send what is due by `horizon`; the next deadline, or None when done."""


class Pacer:
    """The heap of (deadline, ticket, stream) and the one loop timer."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Paced]] = []
        self._tickets: dict[int, int] = {}  # id(stream) -> its current ticket
        self._order = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._armed_for = 0.0  # the deadline the timer was armed for
        self._armed_at = 0.0  # when it was armed to fire (deadline - lead)
        self.lead = WakeLead()

    def __len__(self) -> int:
        return len(self._tickets)

    def schedule(self, stream: Paced, when: float) -> None:
        """`stream.pace` runs once its deadline `when` is within the lead; any earlier
        schedule of the same stream is forgotten."""
        ticket = next(self._order)
        self._tickets[id(stream)] = ticket
        heapq.heappush(self._heap, (when, ticket, stream))
        self._arm()

    def cancel(self, stream: Paced) -> None:
        self._tickets.pop(id(stream), None)
        if not self._tickets:
            self._heap.clear()
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def run_due(self, now: float, lead: float | None = None) -> None:
        """Every stream due within the lead of `now` sends (also the timer's callback)."""
        heap, tickets = self._heap, self._tickets
        horizon = now + (self.lead.lead if lead is None else lead)
        while heap and heap[0][0] <= horizon:
            _, ticket, stream = heapq.heappop(heap)
            if tickets.get(id(stream)) != ticket:
                continue  # cancelled or scheduled again
            when = stream.pace(horizon)
            if tickets.get(id(stream)) != ticket:
                continue  # it rescheduled or cancelled itself meanwhile
            if when is None:
                del tickets[id(stream)]
            else:
                heapq.heappush(heap, (when, ticket, stream))

    def _arm(self) -> None:
        heap = self._heap
        if not heap:
            return
        first = heap[0][0]
        if self._timer is not None:
            if first >= self._armed_for:
                return
            self._timer.cancel()
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        self._armed_for = first
        self._armed_at = first - self.lead.lead
        self._timer = loop.call_at(self._armed_at, self._fire)

    def catch_up(self, now: float) -> None:
        """Send what fell due while the loop ran other callbacks. A loop turn runs every
        ready reader before it looks at its timers: with hundreds of calls that turn
        is longer than a millisecond, and every packet due within it left late. Readers
        call this between datagrams, so a due packet waits for one datagram at most."""
        heap = self._heap
        if heap and heap[0][0] <= now:
            self.run_due(now, lead=0.0)  # only what is due: the lead is for late wakes
            self._drop_stale()
            self._arm()

    def _fire(self) -> None:
        self._timer = None
        loop = self._loop
        assert loop is not None
        now = loop.time()
        self.lead.observe(now - self._armed_at)
        self.run_due(now)
        self._drop_stale()
        self._arm()

    def _drop_stale(self) -> None:
        """Drop cancelled or rescheduled entries at the top before arming for them."""
        while self._heap and self._tickets.get(id(self._heap[0][2])) != self._heap[0][1]:
            heapq.heappop(self._heap)
