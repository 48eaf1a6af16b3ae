"""Many timers in one heap, behind one loop timer (sans-IO, and its asyncio layer).

Used for every client transaction's timer (`sip.transport`) and every probe's
safety net (`monitord.core.runner`): thousands a second, nearly all cancelled.
An asyncio TimerHandle per timer costs its object, a Python-level `__lt__`
for each comparison in the loop's heap (about ten per probe at a few thousand
checks), and a cancelled one stays in that heap until it comes due. Here an
entry is a list `[due, sequence number, owner]`: heapq compares two in C (a
float, then a unique int, never the owner), so equal dues keep their order of
arming; a cancelled entry lets its owner go at once and is shed lazily, at the
top or all at once when the cancelled outnumber the live (as asyncio does).

`LoopTimers` is its asyncio layer: one loop timer at `next_due()`, which runs
what `pop_due(now)` hands out, in that order.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["Entry", "LoopTimers", "TimerHeap"]

T = TypeVar("T")
Entry = list[Any]  # [due, sequence number (-1 once handed out), owner or None once cancelled]
_COMPACT_MIN = 64  # fewer cancelled entries than this are left to come to the top
_RESOLUTION = time.get_clock_info("monotonic").resolution  # asyncio's, for when a timer is due


class TimerHeap(Generic[T]):
    __slots__ = ("_heap", "_seq", "_stale")

    def __init__(self) -> None:
        self._heap: list[Entry] = []
        self._seq = 0
        self._stale = 0  # cancelled entries still in the heap

    def push(self, due: float, owner: T) -> Entry:
        """A timer for `owner` at `due`; keep the entry to cancel it (`entry[0]` is its due)."""
        self._seq += 1
        entry = [due, self._seq, owner]
        heapq.heappush(self._heap, entry)
        return entry

    def cancel(self, entry: Entry) -> None:
        """The entry will not be handed out (nor run, if `pop_due` handed it out already)."""
        entry[2] = None
        if entry[1] < 0:  # handed out: no longer in the heap
            return
        self._stale += 1
        heap = self._heap
        if self._stale > _COMPACT_MIN and 2 * self._stale > len(heap):
            heap[:] = [e for e in heap if e[2] is not None]
            heapq.heapify(heap)
            self._stale = 0

    def pop_due(self, end: float) -> list[Entry]:
        """The live entries due by `end`, earliest first (then in the order armed). Take
        each one's owner with `take` when its turn comes: one run before it may have
        cancelled it since."""
        heap = self._heap
        ready: list[Entry] = []
        while heap and heap[0][0] <= end:
            entry = heapq.heappop(heap)
            if entry[2] is None:
                self._stale -= 1
            else:
                entry[1] = -1
                ready.append(entry)
        return ready

    @staticmethod
    def take(entry: Entry) -> T | None:
        """The owner of an entry `pop_due` handed out, None if cancelled since."""
        owner: T | None = entry[2]
        entry[2] = None
        return owner

    def next_due(self) -> float | None:
        """When the earliest live entry is due (None: none is)."""
        heap = self._heap
        while heap and heap[0][2] is None:
            heapq.heappop(heap)
            self._stale -= 1
        return heap[0][0] if heap else None

    def clear(self) -> None:
        self._heap.clear()
        self._stale = 0

    def __len__(self) -> int:
        """Entries in the heap, cancelled ones not yet shed included."""
        return len(self._heap)

    @property
    def stale(self) -> int:
        return self._stale


class LoopTimers(Generic[T]):
    """A `TimerHeap` on an asyncio loop: one loop timer, at the earliest due entry, that
    calls `run(owner)` for each entry due, as the loop would have called a timer of each.

    While it runs them, arming does not move the loop timer: it is set once they are
    done, for whatever is then the earliest.
    """

    def __init__(self, run: Callable[[T], None]) -> None:
        self._run = run
        self._heap: TimerHeap[T] = TimerHeap()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.TimerHandle | None = None
        self._wakeup_at = 0.0
        self._firing = False

    @property
    def heap(self) -> TimerHeap[T]:
        return self._heap

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def stop(self) -> None:
        if self._wakeup is not None:
            self._wakeup.cancel()
            self._wakeup = None
        self._heap.clear()
        self._loop = None

    def arm(self, due: float, owner: T) -> Entry:
        """A timer for `owner` at `due` (cancel the entry it replaces first). Not started:
        on the running loop."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        entry = self._heap.push(due, owner)
        if not self._firing and (self._wakeup is None or due < self._wakeup_at):
            self._wake_at(due)
        return entry

    def cancel(self, entry: Entry) -> None:
        self._heap.cancel(entry)

    def _wake_at(self, due: float) -> None:
        assert self._loop is not None
        if self._wakeup is not None:
            self._wakeup.cancel()
        self._wakeup_at = due
        self._wakeup = self._loop.call_at(due, self._fire)

    def _fire(self) -> None:
        self._wakeup = None
        loop = self._loop
        if loop is None:
            return
        heap = self._heap
        ready = heap.pop_due(loop.time() + _RESOLUTION)  # asyncio's rule for being due
        self._firing = True
        try:
            for entry in ready:
                owner = heap.take(entry)
                if owner is None:  # cancelled by one run before it
                    continue
                try:
                    self._run(owner)
                except Exception as exc:  # as the loop reports a failing timer callback
                    loop.call_exception_handler({"message": f"timer callback {self._run!r} "
                                                 "failed", "exception": exc})
        finally:
            self._firing = False
        due = heap.next_due()
        if due is not None and self._loop is not None:
            self._wake_at(due)
