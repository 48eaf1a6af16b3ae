"""Runs every check each `interval` on a stable per-check phase.

Why a stable phase: 2,000 checks configured with `interval: 10s` must not all
fire in the same millisecond at start (a thundering herd the target SBC would
see as an attack and our own lateness figures would show as noise). Each
check's slot is `phase + k * interval` on the monotonic clock, with `phase`
derived from a hash of its name, so it is spread evenly and survives restarts.

`SlotPlan` is the pure part (a heap of due times, tested on a fake clock);
`Scheduler` is the thin asyncio layer: one timer, bounded concurrency, and a
check never overlaps itself (a slot that comes while the previous probe still
runs is skipped and counted).

When the daemon cannot keep up (more checks than a core can probe), slots
stretch: a check runs again only when its previous probe is done, and a
backlog of missed slots is skipped, not replayed. That is said, not hidden:
every skipped slot is counted, `LoadTracker` turns skips and late starts into
an "overloaded" state (logged when it begins and ends, and exposed as
`Scheduler.load` for /healthz and metrics), and the probes that do run are
judged on the wire, so our lateness never becomes a recorded failure
(monitord/core/runner.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import math
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import structlog

log = structlog.get_logger("monitord.core.scheduler")

# A probe that starts this much after its slot means the daemon is behind.
LATE_START = 1.0
# Overload is judged over this window, and a summary logged at most this often.
LOAD_WINDOW = 60.0
REPORT_EVERY = 0.5  # seconds between two looks at the load (it is cheap, but not free)


def stable_phase(name: str, interval: float) -> float:
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    fraction = (int.from_bytes(digest[:8], "big") >> 11) / 2**53  # exact, in [0, 1)
    return min(fraction * interval, math.nextafter(interval, 0.0))


class Due(NamedTuple):
    """One slot that came due (a named tuple: thousands are made a second)."""

    key: str
    at: float  # the slot time (monotonic)
    skipped: int  # slots missed because the loop was late by more than an interval


class SlotPlan:
    """Pure slot arithmetic: which keys are due at `now`, and when to wake next."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, str, int]] = []  # (slot, key, generation)
        self._spec: dict[str, tuple[float, float, int]] = {}  # key -> (interval, phase, generation)
        self._generation = 0

    def add(self, key: str, interval: float, now: float, phase: float | None = None) -> float:
        if interval <= 0 or not math.isfinite(interval):
            raise ValueError(f"interval of {key!r} must be positive, got {interval!r}")
        if key in self._spec:
            raise ValueError(f"{key!r} is already scheduled")
        phase = stable_phase(key, interval) if phase is None else phase % interval
        self._generation += 1
        self._spec[key] = (interval, phase, self._generation)
        first = self._next_slot(now, interval, phase, inclusive=True)
        heapq.heappush(self._heap, (first, key, self._generation))
        return first

    @staticmethod
    def _next_slot(now: float, interval: float, phase: float, *, inclusive: bool) -> float:
        k = math.ceil((now - phase) / interval)
        slot = phase + k * interval
        if slot < now or (not inclusive and slot <= now):
            slot += interval
        return slot

    def remove(self, key: str) -> None:
        """Stop scheduling `key` (its heap entry is dropped when it comes up)."""
        self._spec.pop(key, None)

    def _stale(self, key: str, generation: int) -> bool:
        spec = self._spec.get(key)
        return spec is None or spec[2] != generation  # removed (and perhaps added again)

    def next_wakeup(self) -> float | None:
        while self._heap and self._stale(self._heap[0][1], self._heap[0][2]):
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> list[Due]:
        """The keys due at `now`, earliest first, each moved on to its next slot in place
        (one sift per key, `heapreplace`, not a pop and a push: thousands a second)."""
        out: list[Due] = []
        heap, spec = self._heap, self._spec
        while heap and heap[0][0] <= now:
            at, key, generation = heap[0]
            current = spec.get(key)
            if current is None or current[2] != generation:  # removed (or added again)
                heapq.heappop(heap)
                continue
            interval, phase, _ = current
            nxt = at + interval
            skipped = 0
            if nxt <= now:  # we are more than an interval late: do not replay the backlog
                later = self._next_slot(now, interval, phase, inclusive=False)
                skipped = round((later - nxt) / interval)
                nxt = later
            heapq.heapreplace(heap, (nxt, key, generation))
            out.append(Due(key, at, skipped))
        return out

    def __len__(self) -> int:
        return len(self._spec)


@dataclass(frozen=True, slots=True)
class Load:
    """Whether the scheduler keeps up, over the last `window` seconds."""

    overloaded: bool
    since: float | None  # monotonic time the current overload began
    skipped_slots: int  # slots not run in the window (behind, or still running)
    worst_lateness: float  # how late a probe (or the scheduler itself) started, at worst
    window: float

    @property
    def warning(self) -> str | None:
        """One line for /healthz; None while the daemon keeps up."""
        if not self.overloaded:
            return None
        return (f"overloaded: {self.skipped_slots} slot(s) skipped and probes starting up to"
                f" {self.worst_lateness:.1f} s late in the last {self.window:.0f} s; results we"
                " could not judge on time are recorded as inconclusive, not as failures")


class LoadTracker:
    """Pure: fed skipped slots and start lateness with the time, it says whether the
    daemon keeps up. Overloaded while, within the window, probes started more than
    `late_start` late or slots were skipped because the scheduler itself was behind;
    a slot skipped only because its own check still runs (a probe as long as its
    interval) is counted but is no sign of overload by itself.

    Events are summed into one bucket per `BUCKET` seconds, so an overloaded daemon
    that skips thousands of slots a second keeps a window of a few dozen buckets.
    """

    BUCKET = 1.0

    def __init__(self, window: float = LOAD_WINDOW, late_start: float = LATE_START) -> None:
        self.window, self.late_start = window, late_start
        # [bucket start, slots skipped behind, slots skipped overlapping, worst late start]
        self._buckets: deque[list[float]] = deque()
        self._since: float | None = None

    def _bucket(self, now: float) -> list[float]:
        start = now - now % self.BUCKET
        if not self._buckets or self._buckets[-1][0] != start:
            self._buckets.append([start, 0, 0, 0.0])
        return self._buckets[-1]

    def behind(self, now: float, slots: int) -> None:
        self._bucket(now)[1] += slots

    def overlapped(self, now: float, slots: int) -> None:
        self._bucket(now)[2] += slots

    def started(self, now: float, lateness: float) -> None:
        if lateness > self.late_start:
            bucket = self._bucket(now)
            bucket[3] = max(bucket[3], lateness)

    def status(self, now: float) -> Load:
        while self._buckets and self._buckets[0][0] + self.BUCKET <= now - self.window:
            self._buckets.popleft()
        behind = sum(int(b[1]) for b in self._buckets)
        overlapped = sum(int(b[2]) for b in self._buckets)
        worst = max((b[3] for b in self._buckets), default=0.0)
        overloaded = behind > 0 or worst > 0
        if overloaded and self._since is None:
            self._since = now
        elif not overloaded:
            self._since = None
        return Load(overloaded, self._since, behind + overlapped, worst, self.window)


class Turns:
    """At most `limit` jobs at once (None: no limit), first come first served.

    asyncio.Semaphore does the same, but even a free turn costs it a handful of
    coroutine and method calls; a scheduler starting thousands of probes a second
    takes a free turn here without an await.
    """

    def __init__(self, limit: int | None) -> None:
        if limit is not None and limit < 1:
            raise ValueError(f"a concurrency limit must be at least 1, got {limit}")
        self._free = sys.maxsize if limit is None else limit
        self._queue: deque[asyncio.Future[None]] = deque()

    def take_now(self) -> bool:
        """Take a free turn, if there is one and nobody is waiting for it."""
        if self._free and not self._queue:
            self._free -= 1
            return True
        return False

    async def take(self) -> None:
        """Wait for a turn (in order of asking)."""
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.give()  # handed a turn it can no longer use: the next one gets it
            raise

    def give(self) -> None:
        """End a turn: the longest waiting job gets it, else it is free."""
        while self._queue:
            turn = self._queue.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self._free += 1


class SchedulerObserver(Protocol):
    def lateness(self, seconds: float) -> None: ...

    def skipped(self, key: str, slots: int) -> None: ...

    def job_failed(self, key: str, exc: BaseException) -> None: ...


Job = Callable[[float], Awaitable[None]]  # called with the slot time


class Scheduler:
    def __init__(
        self,
        jobs: Sequence[tuple[str, float, Job]],
        *,
        max_concurrency: int | None,
        observer: SchedulerObserver,
    ) -> None:
        self._jobs = {key: job for key, _, job in jobs}
        self._intervals = [(key, interval) for key, interval, _ in jobs]
        self._turns = Turns(max_concurrency)
        self._observer = observer
        self._running: dict[str, asyncio.Task[None]] = {}
        self._stopping = False
        self._tracker = LoadTracker()
        self._reported: Load | None = None  # the overload last logged
        self._reported_at = 0.0
        self._looked_at = float("-inf")
        self._plan: SlotPlan | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._done: asyncio.Future[None] | None = None  # run() ends with it (or its error)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due = 0.0

    @property
    def load(self) -> Load:
        """Whether we keep up (for /healthz: `load.warning`, and for metrics).

        Read from the scrape's worker thread too, so no event loop is asked: the
        default loop's clock is time.monotonic().
        """
        return self._tracker.status(time.monotonic())

    def add(self, key: str, interval: float, job: Job) -> None:
        """Schedule one more job (a fleet agent took over a check), on its stable phase."""
        if key in self._jobs:
            raise ValueError(f"{key!r} is already scheduled")
        self._jobs[key] = job
        self._intervals.append((key, interval))
        if self._plan is not None and self._loop is not None:
            self._plan.add(key, interval, self._loop.time())
            self._arm()

    async def remove(self, keys: Sequence[str], timeout: float) -> None:
        """Stop scheduling `keys` and wait for their probes in flight, so their results are
        recorded before the checks are handed to another agent."""
        gone = set(keys)
        for key in gone:
            self._jobs.pop(key, None)
            if self._plan is not None:
                self._plan.remove(key)
        self._intervals = [(k, i) for k, i in self._intervals if k not in gone]
        tasks = [t for k, t in self._running.items() if k in gone]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        self._forget_done(gone)

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(self._jobs)

    async def run(self) -> None:
        """Start each job at its slot until `stop()`.

        The slots are one loop timer, re-armed for the next due slot after each tick,
        not a task sleeping in `wait_for` (that built a task, a future and a timeout
        handle for every distinct slot time: thousands a second at a few thousand
        checks). An error in a tick ends `run` with it, for the supervisor to see.
        """
        loop = self._loop = asyncio.get_running_loop()
        plan = self._plan = SlotPlan()
        for key, interval in self._intervals:
            plan.add(key, interval, loop.time())
        done = self._done = loop.create_future()
        if self._stopping:
            return
        self._arm()
        try:
            await done
        finally:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._done = None

    def _arm(self) -> None:
        """Timer for the next due slot (kept when it is already set for that time)."""
        assert self._plan is not None and self._loop is not None
        if self._done is None or self._done.done():
            return
        wake = self._plan.next_wakeup()
        if self._timer is not None:
            if wake == self._timer_due:
                return
            self._timer.cancel()
            self._timer = None
        if wake is not None:
            self._timer_due = wake
            self._timer = self._loop.call_at(wake, self._tick, wake)

    def _tick(self, wake: float) -> None:
        self._timer = None
        try:
            self._start_due(wake)
        except Exception as exc:  # handed to run(), which raises it
            if self._done is not None and not self._done.done():
                self._done.set_exception(exc)
            return
        self._arm()

    def _start_due(self, wake: float) -> None:
        loop, plan = self._loop, self._plan
        assert loop is not None and plan is not None
        now = loop.time()
        self._tracker.started(now, now - wake)  # the scheduler's own lateness
        jobs, running = self._jobs, self._running
        for due in plan.pop_due(now):
            if due.key not in jobs:
                continue
            if due.skipped:
                self._tracker.behind(now, due.skipped)
                self._observer.skipped(due.key, due.skipped)
            if due.key in running:
                self._tracker.overlapped(now, 1)
                self._observer.skipped(due.key, 1)
                continue
            running[due.key] = loop.create_task(self._run_one(due), name=f"check:{due.key}")
        self._report(now)

    def _report(self, now: float) -> None:
        """Log when overload begins and ends, and a summary at most once a window."""
        if now - self._looked_at < REPORT_EVERY:
            return
        self._looked_at = now
        load = self._tracker.status(now)
        was = self._reported is not None and self._reported.overloaded
        if load.overloaded and (not was or now - self._reported_at >= load.window):
            log.warning("scheduler_overloaded" if not was else "scheduler_still_overloaded",
                        skipped_slots=load.skipped_slots,
                        worst_lateness_seconds=round(load.worst_lateness, 3),
                        window_seconds=load.window, checks=len(self._jobs))
            self._reported, self._reported_at = load, now
        elif was and not load.overloaded:
            since = self._reported.since if self._reported is not None else None
            log.info("scheduler_caught_up",
                     overloaded_seconds=None if since is None else round(now - since, 1))
            self._reported, self._reported_at = load, now

    async def _run_one(self, due: Due) -> None:
        """One probe, in its own task. It leaves `_running` itself when it ends (a done
        callback cost a loop turn per probe); one cancelled before it ever ran is taken
        out by whoever cancelled it (`remove`, `drain`)."""
        key = due.key
        try:
            turns = self._turns
            if not turns.take_now():
                await turns.take()
            try:
                job = self._jobs.get(key)
                if job is None:
                    return  # removed while it waited for a free slot
                now = asyncio.get_running_loop().time()
                self._tracker.started(now, now - due.at)
                self._observer.lateness(max(0.0, now - due.at))
                await job(due.at)
            except Exception as exc:
                self._observer.job_failed(key, exc)
            finally:
                turns.give()
        finally:
            self._running.pop(key, None)

    def _forget_done(self, keys: Iterable[str]) -> None:
        """Take tasks that ended without running (cancelled before their first step) out
        of `_running`: nothing else would, and their check would never start again."""
        for key in keys:
            task = self._running.get(key)
            if task is not None and task.done():
                del self._running[key]

    def stop(self) -> None:
        """Start nothing more, from now: the timer goes at once, as `run()` would drop it
        only a loop turn later, and a tick already due in this turn would start probes
        that `drain()`, called right after, does not know of."""
        self._stopping = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._done is not None and not self._done.done():
            self._done.set_result(None)

    async def drain(self, timeout: float) -> None:
        """Wait for in-flight probes so their results are recorded, then cancel stragglers."""
        tasks = list(self._running.values())
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        self._forget_done(list(self._running))
