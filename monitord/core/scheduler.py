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
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


def stable_phase(name: str, interval: float) -> float:
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    fraction = (int.from_bytes(digest[:8], "big") >> 11) / 2**53  # exact, in [0, 1)
    return min(fraction * interval, math.nextafter(interval, 0.0))


@dataclass(frozen=True, slots=True)
class Due:
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
        out: list[Due] = []
        while self._heap and self._heap[0][0] <= now:
            at, key, generation = heapq.heappop(self._heap)
            if self._stale(key, generation):
                continue
            interval, phase, _ = self._spec[key]
            nxt = at + interval
            skipped = 0
            if nxt <= now:  # we are more than an interval late: do not replay the backlog
                later = self._next_slot(now, interval, phase, inclusive=False)
                skipped = round((later - nxt) / interval)
                nxt = later
            heapq.heappush(self._heap, (nxt, key, generation))
            out.append(Due(key, at, skipped))
        return out

    def __len__(self) -> int:
        return len(self._spec)


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
        max_concurrency: int,
        observer: SchedulerObserver,
    ) -> None:
        self._jobs = {key: job for key, _, job in jobs}
        self._intervals = [(key, interval) for key, interval, _ in jobs]
        self._sem = asyncio.Semaphore(max_concurrency)
        self._observer = observer
        self._running: dict[str, asyncio.Task[None]] = {}
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()  # stopped, or jobs added or removed while running
        self._plan: SlotPlan | None = None

    def add(self, key: str, interval: float, job: Job) -> None:
        """Schedule one more job (a fleet agent took over a check), on its stable phase."""
        if key in self._jobs:
            raise ValueError(f"{key!r} is already scheduled")
        self._jobs[key] = job
        self._intervals.append((key, interval))
        if self._plan is not None:
            self._plan.add(key, interval, asyncio.get_running_loop().time())
            self._wake.set()

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

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(self._jobs)

    async def _sleep(self, delay: float | None) -> bool:
        """Wait `delay` (forever if None) or until woken; True when stopped."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay)
        self._wake.clear()
        return self._stopping.is_set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        plan = self._plan = SlotPlan()
        for key, interval in self._intervals:
            plan.add(key, interval, loop.time())
        while not self._stopping.is_set():
            wake = plan.next_wakeup()
            delay = None if wake is None else wake - loop.time()
            if (delay is None or delay > 0) and await self._sleep(delay):
                break
            for due in plan.pop_due(loop.time()):
                if due.key not in self._jobs:
                    continue
                if due.skipped:
                    self._observer.skipped(due.key, due.skipped)
                if due.key in self._running:
                    self._observer.skipped(due.key, 1)
                    continue
                task = loop.create_task(self._run_one(due), name=f"check:{due.key}")
                self._running[due.key] = task
                task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        key = task.get_name().removeprefix("check:")
        self._running.pop(key, None)
        if not task.cancelled() and (exc := task.exception()) is not None:
            self._observer.job_failed(key, exc)

    async def _run_one(self, due: Due) -> None:
        async with self._sem:
            job = self._jobs.get(due.key)
            if job is None:
                return  # removed while it waited for a free slot
            self._observer.lateness(max(0.0, asyncio.get_running_loop().time() - due.at))
            await job(due.at)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

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
