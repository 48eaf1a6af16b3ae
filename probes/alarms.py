"""Many timed callbacks behind one loop timer.

Why not `loop.call_at` for each: asyncio keeps every timer as a `TimerHandle`
in a heap ordered by a Python-level `__lt__`, and a cancelled handle stays in
that heap until its time comes. A daemon probing a few thousand targets a
second arms a deadline per probe that is nearly always cancelled, and that
heap work cost more than the callbacks themselves. Here the heap holds plain
tuples (compared in C), a cancelled alarm is only a flag, and the loop sees
one timer: the one for the earliest alarm.

Callbacks run in time order (ties in the order they were set) from that one
loop timer, so an alarm never runs before its time and runs in the loop turn
a `call_at` for the same time would have; an exception in one is handed to the
loop's exception handler and the others still run.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections.abc import Callable
from typing import Any

__all__ = ["Alarm", "Alarms"]

# Past this many cancelled alarms, and once they are half the heap, the heap is rebuilt
# without them (asyncio does the same for its own timers) so memory follows what is live.
COMPACT_MIN = 100


class Alarm:
    """One callback at one time; `cancel()` it when it is no longer wanted."""

    __slots__ = ("_owner", "args", "callback", "done", "when")

    def __init__(self, owner: Alarms, when: float, callback: Callable[..., object],
                 args: tuple[Any, ...]) -> None:
        self._owner = owner
        self.when = when
        self.callback = callback
        self.args = args
        self.done = False  # ran or cancelled

    def cancel(self) -> None:
        if not self.done:
            self.done = True
            self._owner._cancelled()


class Alarms:
    """The alarms of one event loop: `loop`, or the loop running when the first is set."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop
        self._heap: list[tuple[float, int, Alarm]] = []
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due = math.inf
        self._cancelled_count = 0
        self._resolution = 0.0

    def at(self, when: float, callback: Callable[..., object], *args: Any) -> Alarm:
        """Call `callback(*args)` at loop time `when`."""
        alarm = Alarm(self, when, callback, args)
        heapq.heappush(self._heap, (when, next(self._order), alarm))
        if when < self._timer_due:
            self._arm(when)
        return alarm

    def _bind(self) -> asyncio.AbstractEventLoop:
        loop = self._loop = self._loop or asyncio.get_running_loop()
        # asyncio runs a timer this close to its time in the current turn: so do we
        self._resolution = getattr(loop, "_clock_resolution", 0.0)
        return loop

    @property
    def waiting(self) -> int:
        """Alarms waiting (cancelled ones not yet dropped included). Not `__len__`: an
        `Alarms` with nothing waiting must not be falsy (`alarms or Alarms()`)."""
        return len(self._heap)

    def close(self) -> None:
        """Cancel everything (the loop is going away)."""
        for _, _, alarm in self._heap:
            alarm.done = True
        self._heap.clear()
        self._cancelled_count = 0
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_due = math.inf

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        loop = self._loop or self._bind()
        self._timer_due = when
        self._timer = loop.call_at(when, self._fire)

    def _cancelled(self) -> None:
        self._cancelled_count += 1
        heap = self._heap
        if self._cancelled_count > COMPACT_MIN and 2 * self._cancelled_count > len(heap):
            self._heap = [entry for entry in heap if not entry[2].done]
            heapq.heapify(self._heap)
            self._cancelled_count = 0

    def _fire(self) -> None:
        self._timer = None
        self._timer_due = math.inf
        loop = self._loop
        assert loop is not None
        end = loop.time() + self._resolution
        heap = self._heap
        pop = heapq.heappop
        while heap and heap[0][0] <= end:
            alarm = pop(heap)[2]
            if alarm.done:
                self._cancelled_count -= 1
                continue
            alarm.done = True
            try:
                alarm.callback(*alarm.args)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                loop.call_exception_handler({
                    "message": f"exception in alarm callback {alarm.callback!r}",
                    "exception": exc,
                })
            heap = self._heap  # a callback may have compacted it
        while heap and heap[0][2].done:
            pop(heap)
            self._cancelled_count -= 1
        if heap and self._timer is None:
            self._arm(heap[0][0])
