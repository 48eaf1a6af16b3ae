"""Telling the target's slowness from our own: how late our event loop runs.

A probe may only record a timeout it observed. Where the wire gives us
arrival times (probes/datagrams.py) a probe judges by those. Where it cannot
(pysnmp's retransmission timers, a resolver's timeout, RTP gaps seen by a
call), it asks a `LoopWatch` whether our loop ran late while the probe was
waiting: if it did, by more than `tolerance(budget)`, the silence may be ours
and the result is inconclusive instead of a failure.

`LoopWatch` samples the loop with one timer every `period`: how late each
tick ran is how late any timer or I/O callback of ours could have run then.
It keeps a bounded history (`keep` seconds), so a query is cheap and memory
does not grow.
"""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["LoopWatch", "tolerance"]

MIN_TOLERANCE = 0.05  # seconds of our own lateness that never change a verdict


def tolerance(budget: float) -> float:
    """How late we may be without the verdict being in doubt: a tenth of the time the
    target had (its timeout), never less than `MIN_TOLERANCE`."""
    return max(MIN_TOLERANCE, 0.1 * budget)


class LoopWatch:
    """How late the running loop executes its callbacks, over the last `keep` seconds."""

    def __init__(self, period: float = 0.05, keep: float = 300.0) -> None:
        self._period = period
        self._samples: deque[tuple[float, float]] = deque(maxlen=max(1, int(keep / period)))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._due = 0.0

    def start(self) -> None:
        """Start sampling on the running loop (idempotent)."""
        if self._handle is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._due = self._loop.time() + self._period
        self._handle = self._loop.call_at(self._due, self._tick)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    @property
    def running(self) -> bool:
        return self._handle is not None

    def _tick(self) -> None:
        assert self._loop is not None
        now = self._loop.time()
        self._samples.append((self._due, now - self._due))
        self._due = max(self._due + self._period, now)
        self._handle = self._loop.call_at(self._due, self._tick)

    def lateness_since(self, since: float) -> float:
        """The most our loop was behind at any moment from `since` (loop clock) until now.

        Includes the tick that is due but has not run yet: a loop blocked right
        now is late right now. Without sampling (not started) it knows nothing
        and answers 0.
        """
        if self._loop is None or self._handle is None:
            return 0.0
        worst = max(0.0, self._loop.time() - self._due)
        for due, late in reversed(self._samples):
            if due + late < since:
                break
            worst = max(worst, late)
        return worst
