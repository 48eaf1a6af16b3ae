"""Scheduling: SlotPlan on a fake clock, then the asyncio Scheduler for real.

SlotPlan is pure, so its tests move `now` by hand and need no sleeping. The
Scheduler tests use real 50 ms intervals and finish well under two seconds.
Times in the fake-clock tests are multiples of 1/4 so float sums are exact.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import capture_logs

from monitord.core.scheduler import (
    Due,
    Job,
    LoadTracker,
    Scheduler,
    SlotPlan,
    Turns,
    stable_phase,
)

# --- stable_phase -------------------------------------------------------------


def test_stable_phase_is_deterministic_and_in_range() -> None:
    for name in ["sip-core-1", "sip-core-2", "", "x" * 300, "zürich-sbc"]:
        for interval in [0.05, 1.0, 10.0, 3600.0]:
            phase = stable_phase(name, interval)
            assert phase == stable_phase(name, interval)
            assert 0 <= phase < interval


def test_stable_phase_is_a_fixed_fraction_of_the_interval() -> None:
    # the same check keeps the same relative position when its interval changes
    assert stable_phase("sbc-ams", 20.0) == pytest.approx(2 * stable_phase("sbc-ams", 10.0))


def test_stable_phase_differs_between_names() -> None:
    phases = {stable_phase(f"check-{i}", 10.0) for i in range(100)}
    assert len(phases) == 100


def test_phases_of_1000_names_spread_roughly_uniformly() -> None:
    interval = 10.0
    phases = sorted(stable_phase(f"sip-options-{i:04d}", interval) for i in range(1000))
    buckets = Counter(int(p) for p in phases)  # ten one-second buckets, ~100 each
    assert sorted(buckets) == list(range(10))
    assert all(60 <= n <= 140 for n in buckets.values()), buckets
    # no thundering herd: at most a handful of checks within any 10 ms
    window = max(sum(1 for q in phases[i : i + 20] if q - p < 0.01) for i, p in enumerate(phases))
    assert window <= 6
    # and the mean sits near the middle of the interval
    assert sum(phases) / len(phases) == pytest.approx(interval / 2, abs=0.5)


# --- SlotPlan on a fake clock ---------------------------------------------------


def test_add_returns_the_first_slot_at_or_after_now() -> None:
    plan = SlotPlan()
    assert plan.add("a", 10.0, now=100.0, phase=2.5) == 102.5
    assert plan.add("b", 10.0, now=100.0, phase=0.0) == 100.0  # exactly due: inclusive
    assert plan.add("c", 10.0, now=100.25, phase=0.0) == 110.0
    assert plan.add("d", 10.0, now=100.0, phase=25.0) == 105.0  # phase taken modulo interval
    assert len(plan) == 4
    assert plan.next_wakeup() == 100.0


def test_add_uses_the_stable_phase_by_default() -> None:
    plan = SlotPlan()
    first = plan.add("sbc-ams", 10.0, now=1000.0)
    phase = stable_phase("sbc-ams", 10.0)
    assert 1000.0 <= first < 1010.0
    assert (first - phase) / 10.0 == pytest.approx(round((first - phase) / 10.0))


@pytest.mark.parametrize("interval", [0.0, -1.0, math.nan, math.inf])
def test_add_rejects_a_bad_interval(interval: float) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        SlotPlan().add("a", interval, now=0.0)


def test_add_rejects_a_key_twice() -> None:
    plan = SlotPlan()
    plan.add("a", 10.0, now=0.0)
    with pytest.raises(ValueError, match="already scheduled"):
        plan.add("a", 5.0, now=0.0)
    assert len(plan) == 1


def test_empty_plan() -> None:
    plan = SlotPlan()
    assert plan.next_wakeup() is None
    assert plan.pop_due(1e9) == []
    assert len(plan) == 0


def test_slots_are_phase_plus_k_intervals() -> None:
    plan = SlotPlan()
    plan.add("a", 10.0, now=0.0, phase=3.25)
    seen = []
    for _ in range(6):
        wake = plan.next_wakeup()
        assert wake is not None
        assert plan.pop_due(wake - 0.25) == []  # not due a moment early
        seen.extend(plan.pop_due(wake))
    assert seen == [Due("a", 3.25 + 10 * k, 0) for k in range(6)]


def test_late_loop_does_not_replay_the_backlog() -> None:
    plan = SlotPlan()
    plan.add("a", 10.0, now=0.0, phase=5.0)
    assert plan.pop_due(5.0) == [Due("a", 5.0, 0)]
    # the loop stalls for 37 s: slot 15 runs (late) once, 25 and 35 are skipped
    # rather than replayed in a burst, and 45 is next
    assert plan.pop_due(42.0) == [Due("a", 15.0, 2)]
    assert plan.next_wakeup() == 45.0
    assert plan.pop_due(44.75) == []
    assert plan.pop_due(45.0) == [Due("a", 45.0, 0)]


def test_late_by_less_than_an_interval_skips_nothing() -> None:
    plan = SlotPlan()
    plan.add("a", 10.0, now=0.0, phase=0.0)
    assert plan.pop_due(9.75) == [Due("a", 0.0, 0)]
    assert plan.next_wakeup() == 10.0


def test_late_by_exactly_one_interval_runs_once() -> None:
    plan = SlotPlan()
    plan.add("a", 10.0, now=0.0, phase=0.0)
    # at 10 both slot 0 and slot 10 are due: run once, count one skipped
    assert plan.pop_due(10.0) == [Due("a", 0.0, 1)]
    assert plan.next_wakeup() == 20.0


def test_several_intervals_interleave_in_time_order() -> None:
    plan = SlotPlan()
    specs = {"a": (10.0, 1.0), "b": (15.0, 2.0), "c": (4.0, 0.5)}
    for key, (interval, phase) in specs.items():
        plan.add(key, interval, now=0.0, phase=phase)
    seen: list[tuple[float, str]] = []
    while (wake := plan.next_wakeup()) is not None and wake <= 60.0:
        for due in plan.pop_due(wake):
            assert due.skipped == 0
            seen.append((due.at, due.key))
    expected = sorted(
        (phase + k * interval, key)
        for key, (interval, phase) in specs.items()
        for k in range(100)
        if phase + k * interval <= 60.0
    )
    assert seen == expected
    assert Counter(key for _, key in seen) == {"a": 6, "b": 4, "c": 15}


def test_one_coarse_tick_pops_every_key_that_is_due() -> None:
    plan = SlotPlan()
    plan.add("a", 10.0, now=0.0, phase=1.0)
    plan.add("b", 10.0, now=0.0, phase=2.0)
    plan.add("c", 10.0, now=0.0, phase=8.0)
    assert plan.pop_due(5.0) == [Due("a", 1.0, 0), Due("b", 2.0, 0)]
    assert plan.next_wakeup() == 8.0


quarter = st.integers(1, 80).map(lambda n: n / 4)


@given(
    specs=st.lists(st.tuples(quarter, st.integers(0, 400).map(lambda n: n / 4)), max_size=5),
    steps=st.lists(st.integers(1, 200).map(lambda n: n / 4), min_size=1, max_size=40),
)
def test_every_slot_is_either_run_once_or_counted_as_skipped(
    specs: list[tuple[float, float]], steps: list[float]
) -> None:
    plan = SlotPlan()
    first: dict[str, float] = {}
    for i, (interval, phase) in enumerate(specs):
        first[f"k{i}"] = plan.add(f"k{i}", interval, now=0.0, phase=phase)
    now = 0.0
    runs: dict[str, list[float]] = {key: [] for key in first}
    skipped: Counter[str] = Counter()
    for step in steps:
        now += step
        for due in plan.pop_due(now):
            assert due.at <= now
            runs[due.key].append(due.at)
            skipped[due.key] += due.skipped
        wake = plan.next_wakeup()
        assert wake is None or wake > now
    for i, (interval, phase) in enumerate(specs):
        key = f"k{i}"
        p = phase % interval
        assert all((at - p) % interval == 0 for at in runs[key])  # on the grid
        assert runs[key] == sorted(set(runs[key]))  # never twice
        slots_passed = sum(1 for k in range(10_000) if first[key] <= p + k * interval <= now)
        assert len(runs[key]) + skipped[key] == slots_passed


class PlanModel:
    """The slot rules stated as plainly as possible: every key's next slot in a dict, all of
    them looked at on every pop. What the heap of the plan must agree with."""

    def __init__(self) -> None:
        self.slots: dict[str, float] = {}
        self.specs: dict[str, tuple[float, float]] = {}

    def add(self, key: str, interval: float, now: float, phase: float) -> float:
        k = math.ceil((now - phase) / interval)
        slot = phase + k * interval
        self.slots[key] = slot + interval if slot < now else slot
        self.specs[key] = (interval, phase)
        return self.slots[key]

    def remove(self, key: str) -> None:
        self.slots.pop(key, None)

    def pop_due(self, now: float) -> list[Due]:
        out = []
        for at, key in sorted((at, key) for key, at in self.slots.items() if at <= now):
            interval = self.specs[key][0]
            nxt = at + interval
            skipped = 0
            if nxt <= now:  # every slot up to now is skipped; the next one comes after it
                skipped = math.floor((now - nxt) / interval) + 1
                nxt += skipped * interval
            self.slots[key] = nxt
            out.append(Due(key, at, skipped))
        return out

    def next_wakeup(self) -> float | None:
        return min(self.slots.values(), default=None)


@given(
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("add"), st.integers(0, 7), quarter, st.integers(0, 80)),
            st.tuples(st.just("remove"), st.integers(0, 7)),
            st.tuples(st.just("pop"), st.integers(0, 4_000).map(lambda n: n / 4)),
        ),
        max_size=60,
    )
)
def test_the_plan_agrees_with_a_plain_model_of_the_slots(
    ops: list[tuple[object, ...]]
) -> None:
    plan, model = SlotPlan(), PlanModel()
    now = 0.0
    for op in ops:
        if op[0] == "add":
            key, interval, phase = f"k{op[1]}", float(op[2]), float(op[3]) / 4  # type: ignore[arg-type]
            if key in model.slots:
                continue
            assert plan.add(key, interval, now, phase) == model.add(key, interval, now,
                                                                    phase % interval)
        elif op[0] == "remove":
            plan.remove(f"k{op[1]}")
            model.remove(f"k{op[1]}")
        else:
            now += float(op[1])  # type: ignore[arg-type]
            assert plan.pop_due(now) == model.pop_due(now)
        assert plan.next_wakeup() == model.next_wakeup()


# --- the asyncio Scheduler ------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.late: list[float] = []
        self.skips: Counter[str] = Counter()
        self.failures: list[tuple[str, BaseException]] = []

    def lateness(self, seconds: float) -> None:
        self.late.append(seconds)

    def skipped(self, key: str, slots: int) -> None:
        self.skips[key] += slots

    def job_failed(self, key: str, exc: BaseException) -> None:
        self.failures.append((key, exc))


@asynccontextmanager
async def running(
    jobs: list[tuple[str, float, Job]], observer: Recorder, max_concurrency: int = 100
) -> AsyncIterator[Scheduler]:
    sched = Scheduler(jobs, max_concurrency=max_concurrency, observer=observer)
    task = asyncio.create_task(sched.run())
    try:
        yield sched
    finally:
        sched.stop()
        await asyncio.wait_for(task, 0.5)
        await sched.drain(0.5)


def sleeper(
    seconds: float, log: list[tuple[float, float]] | None = None
) -> Callable[[float], Awaitable[None]]:
    async def job(slot: float) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.sleep(seconds)
        if log is not None:
            log.append((slot, started))

    return job


async def test_jobs_run_on_their_slots() -> None:
    obs = Recorder()
    log: list[tuple[float, float]] = []
    async with running([("a", 0.05, sleeper(0, log))], obs):
        await asyncio.sleep(0.4)
    assert len(log) >= 5  # 8 slots in 0.4 s; slack for a loaded CI machine
    phase = stable_phase("a", 0.05)
    for slot, started in log:
        k = (slot - phase) / 0.05
        assert k == pytest.approx(round(k), abs=1e-6)  # slot = phase + k * interval
        assert started >= slot - 0.002  # never early (timer resolution aside)
    slots = [slot for slot, _ in log]
    assert all(b - a == pytest.approx(0.05, abs=1e-6) for a, b in pairwise(slots))
    assert obs.failures == []
    assert obs.skips == {}


async def test_a_slow_job_never_delays_another_key() -> None:
    obs = Recorder()
    fast: list[tuple[float, float]] = []
    jobs: list[tuple[str, float, Job]] = [
        ("slow", 0.05, sleeper(0.3)),
        ("fast", 0.05, sleeper(0, fast)),
    ]
    async with running(jobs, obs):
        await asyncio.sleep(0.5)
    assert len(fast) >= 6  # 10 slots in 0.5 s
    # had it waited for the slow one it would be 0.3 s late
    assert max(started - slot for slot, started in fast) < 0.1
    assert obs.skips["fast"] == 0
    assert obs.skips["slow"] >= 3


async def test_a_job_never_overlaps_itself() -> None:
    obs = Recorder()
    active = Counter[str]()
    most = Counter[str]()
    calls = Counter[str]()

    async def job(_slot: float) -> None:
        calls["a"] += 1
        active["a"] += 1
        most["a"] = max(most["a"], active["a"])
        try:
            await asyncio.sleep(0.12)
        finally:
            active["a"] -= 1

    async with running([("a", 0.05, job)], obs):
        await asyncio.sleep(0.5)
    assert most["a"] == 1
    assert 2 <= calls["a"] <= 5
    # about 10 slots passed; those not run were reported as skipped
    assert obs.skips["a"] >= 4
    assert calls["a"] + obs.skips["a"] >= 8


async def test_max_concurrency_is_respected() -> None:
    obs = Recorder()
    active = 0
    most = 0

    async def job(_slot: float) -> None:
        nonlocal active, most
        active += 1
        most = max(most, active)
        try:
            await asyncio.sleep(0.03)
        finally:
            active -= 1

    jobs: list[tuple[str, float, Job]] = [(f"k{i}", 0.05, job) for i in range(8)]
    async with running(jobs, obs, max_concurrency=2):
        await asyncio.sleep(0.4)
    assert most == 2
    # jobs waited for the semaphore, and that wait shows as lateness
    assert max(obs.late) > 0.02


async def test_stop_and_drain_let_a_running_probe_finish() -> None:
    obs = Recorder()
    started = asyncio.Event()
    finished: list[float] = []

    async def job(slot: float) -> None:
        started.set()
        await asyncio.sleep(0.15)
        finished.append(slot)

    sched = Scheduler([("a", 0.05, job)], max_concurrency=10, observer=obs)
    task = asyncio.create_task(sched.run())
    await asyncio.wait_for(started.wait(), 0.5)
    sched.stop()
    await asyncio.wait_for(task, 0.1)  # run() returns promptly, the probe is still going
    assert finished == []
    await sched.drain(1.0)
    assert len(finished) == 1
    await asyncio.sleep(0.12)  # and nothing new starts after stop
    assert len(finished) == 1


async def test_a_slot_due_in_the_turn_stop_is_called_starts_nothing() -> None:
    """The daemon calls stop() and at once drain(), which lists the probes running. A tick
    already due in that same loop turn started probes after the list was taken: they
    outlived the store at shutdown (their results lost, the store logged as failing)."""
    obs = Recorder()
    stopped = False
    late: list[str] = []

    def job_for(key: str) -> Job:
        async def job(_slot: float) -> None:
            if stopped:
                late.append(key)
            await asyncio.sleep(0.01)
        return job

    sched = Scheduler([(f"c{i}", 0.05, job_for(f"c{i}")) for i in range(20)],
                      max_concurrency=100, observer=obs)
    task = asyncio.create_task(sched.run())
    await asyncio.sleep(0.12)
    loop = asyncio.get_running_loop()
    wake = sched._plan.next_wakeup() if sched._plan else None
    assert wake is not None

    def stop_in_the_same_turn() -> None:
        nonlocal stopped
        stopped = True
        sched.stop()

    loop.call_at(wake - 0.002, stop_in_the_same_turn)  # due just before the next tick
    time.sleep(max(0.0, wake - loop.time()) + 0.01)  # both due in the next turn, ours first
    await asyncio.wait_for(task, 0.5)
    await sched.drain(1.0)
    await asyncio.sleep(0.1)
    assert late == [], "no probe starts once stop() was called"


async def test_drain_cancels_stragglers_after_its_timeout() -> None:
    obs = Recorder()
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def job(_slot: float) -> None:
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    sched = Scheduler([("hang", 0.05, job)], max_concurrency=10, observer=obs)
    task = asyncio.create_task(sched.run())
    await asyncio.wait_for(started.wait(), 0.5)
    sched.stop()
    await asyncio.wait_for(task, 0.1)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await sched.drain(0.1)
    assert loop.time() - t0 < 0.5
    assert cancelled.is_set()
    assert obs.failures == []  # a cancelled straggler is not a job failure


async def test_drain_with_nothing_running_returns_at_once() -> None:
    sched = Scheduler([], max_concurrency=1, observer=Recorder())
    task = asyncio.create_task(sched.run())
    await asyncio.sleep(0.01)
    sched.stop()
    await asyncio.wait_for(task, 0.1)
    await asyncio.wait_for(sched.drain(5.0), 0.1)


async def test_exceptions_go_to_the_observer_and_the_job_keeps_its_schedule() -> None:
    obs = Recorder()
    calls = 0
    ok: list[tuple[float, float]] = []

    async def broken(_slot: float) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError(f"probe bug #{calls}")

    async with running([("broken", 0.05, broken), ("ok", 0.05, sleeper(0, ok))], obs):
        await asyncio.sleep(0.3)
    assert calls >= 4
    assert len(obs.failures) == calls
    assert all(key == "broken" for key, _ in obs.failures)
    assert all(isinstance(exc, RuntimeError) for _, exc in obs.failures)
    assert str(obs.failures[0][1]) == "probe bug #1"
    assert len(ok) >= 4


# --- overload: said, not hidden ---------------------------------------------------


def test_load_tracker_is_overloaded_while_we_start_late_or_fall_behind_then_recovers() -> None:
    tracker = LoadTracker(window=10.0, late_start=1.0)
    assert not tracker.status(0.0).overloaded
    tracker.started(1.0, 0.2)  # a little late: normal
    tracker.overlapped(1.0, 1)  # a probe as long as its interval: counted, not overload
    assert not tracker.status(1.0).overloaded
    assert tracker.status(1.0).skipped_slots == 1
    tracker.started(2.0, 2.5)
    tracker.behind(3.0, 4)
    load = tracker.status(3.0)
    assert (load.overloaded, load.since, load.skipped_slots, load.worst_lateness) == (
        True, 3.0, 5, 2.5)
    assert load.warning is not None and "5 slot(s) skipped" in load.warning
    assert tracker.status(12.5).overloaded  # the skips at 3.0 are still in the window
    recovered = tracker.status(14.1)  # (events leave the window a bucket of 1 s at a time)
    assert not recovered.overloaded and recovered.since is None and recovered.warning is None


async def test_a_daemon_that_cannot_keep_up_says_so_and_skips_instead_of_replaying() -> None:
    obs = Recorder()

    async def hog(slot: float) -> None:
        time.sleep(0.12)  # more work per slot than the 0.05 s interval allows

    with capture_logs() as logs:
        async with running([("a", 0.05, hog), ("b", 0.05, hog)], obs) as sched:
            await asyncio.sleep(1.2)  # two looks at the load (REPORT_EVERY)
            load = sched.load
    assert load.overloaded and load.skipped_slots > 0
    assert sum(obs.skips.values()) > 0
    assert load.warning is not None and "overloaded" in load.warning
    assert any(e["event"] == "scheduler_overloaded" for e in logs)


# --- jobs added and removed while running (a fleet agent's share changes) --------------


def test_a_removed_key_is_never_due_and_can_come_back_once() -> None:
    plan = SlotPlan()
    plan.add("a", 1.0, now=0.0, phase=0.25)
    plan.add("b", 1.0, now=0.0, phase=0.5)
    plan.remove("a")
    assert plan.next_wakeup() == 0.5
    assert [d.key for d in plan.pop_due(3.0)] == ["b"]
    plan.add("a", 1.0, now=3.0, phase=0.25)  # back: its old heap entry must not fire too
    due = [d.key for d in plan.pop_due(3.25)]
    assert due.count("a") == 1


async def test_jobs_added_while_running_start_on_their_slots_and_removed_ones_stop() -> None:
    obs = Recorder()
    a: list[tuple[float, float]] = []
    b: list[tuple[float, float]] = []
    sched = Scheduler([("a", 0.05, sleeper(0, a))], max_concurrency=10, observer=obs)
    task = asyncio.create_task(sched.run())
    try:
        await asyncio.sleep(0.12)
        sched.add("b", 0.05, sleeper(0, b))  # the loop sleeps until a's next slot: it wakes
        await asyncio.sleep(0.2)
        assert len(b) >= 3
        assert sched.keys == {"a", "b"}
        await sched.remove(["a"], timeout=1.0)
        done = len(a)
        await asyncio.sleep(0.15)
        assert len(a) == done and len(b) >= 5
        with pytest.raises(ValueError, match="already scheduled"):
            sched.add("b", 0.05, sleeper(0, b))
    finally:
        sched.stop()
        await task


async def test_remove_waits_for_the_probe_in_flight() -> None:
    started = asyncio.Event()
    finished: list[float] = []

    async def job(slot: float) -> None:
        started.set()
        await asyncio.sleep(0.1)
        finished.append(slot)

    sched = Scheduler([("a", 0.05, job)], max_concurrency=10, observer=Recorder())
    task = asyncio.create_task(sched.run())
    try:
        await asyncio.wait_for(started.wait(), 0.5)
        await sched.remove(["a"], timeout=1.0)
        assert len(finished) == 1  # its result is in before the check is handed over
    finally:
        sched.stop()
        await task


async def test_an_error_in_a_tick_ends_run_with_it_and_a_stop_before_run_ends_it_at_once(
) -> None:
    class Broken(Recorder):
        def skipped(self, key: str, slots: int) -> None:
            raise RuntimeError("observer broke")

    async def slow(slot: float) -> None:
        await asyncio.sleep(0.2)  # overlaps its next slot: the scheduler reports a skip

    sched = Scheduler([("a", 0.02, slow)], max_concurrency=10, observer=Broken())
    with pytest.raises(RuntimeError, match="observer broke"):
        await asyncio.wait_for(sched.run(), 1.0)
    await sched.drain(0.5)
    stopped = Scheduler([("a", 0.02, slow)], max_concurrency=10, observer=Recorder())
    stopped.stop()
    await asyncio.wait_for(stopped.run(), 0.5)


async def test_turns_are_handed_out_in_order_and_never_beyond_the_limit() -> None:
    turns, order, inside = Turns(2), [], [0]

    async def job(label: str) -> None:
        if not turns.take_now():
            await turns.take()
        try:
            inside[0] += 1
            assert inside[0] <= 2
            order.append(label)
            await asyncio.sleep(0.01)
        finally:
            inside[0] -= 1
            turns.give()

    await asyncio.gather(*(job(str(i)) for i in range(7)))
    assert order == [str(i) for i in range(7)]
    assert turns.take_now() and turns.take_now() and not turns.take_now()


async def test_a_job_cancelled_while_waiting_for_a_turn_does_not_lose_it() -> None:
    turns = Turns(1)
    assert turns.take_now()
    waiter = asyncio.create_task(turns.take())
    second = asyncio.create_task(turns.take())
    await asyncio.sleep(0)
    turns.give()  # handed to `waiter`, which is cancelled before it runs
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await asyncio.wait_for(second, 1.0)  # the turn went on to the next in line
    turns.give()
    assert turns.take_now()


def test_turns_need_a_positive_limit() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Turns(0)


@pytest.mark.parametrize(("limit", "started"), [(None, 600), (512, 512)])
async def test_without_a_limit_every_check_can_wait_out_its_timeout_at_once(
    limit: int | None, started: int
) -> None:
    """The default: a site cut off leaves every probe waiting out its timeout, and none of
    the other checks may be held back by it (a limit would start only that many)."""
    obs = Recorder()
    cut_off = asyncio.Event()
    running: set[str] = set()

    def hang(key: str) -> Job:
        async def job(_slot: float) -> None:
            running.add(key)
            await cut_off.wait()

        return job

    jobs: list[tuple[str, float, Job]] = [(f"k{i}", 1.0, hang(f"k{i}")) for i in range(600)]
    sched = Scheduler(jobs, max_concurrency=limit, observer=obs)
    task = asyncio.create_task(sched.run())
    await asyncio.sleep(1.1)  # every check's first slot has come
    assert len(running) == started
    cut_off.set()
    sched.stop()
    await asyncio.wait_for(task, 0.5)
    await sched.drain(0.5)


def test_turns_without_a_limit_are_always_free() -> None:
    turns = Turns(None)
    assert all(turns.take_now() for _ in range(100_000))


async def test_a_probe_cancelled_before_it_ever_ran_does_not_hold_its_check_back() -> None:
    """A probe task leaves the running set itself when it ends; one cancelled before its
    first step never runs that code, so whoever cancelled it (here: a fleet handing the
    check over) takes it out, or the check would count as overlapping itself forever."""
    obs = Recorder()
    ran: list[float] = []

    async def job(slot: float) -> None:
        ran.append(slot)

    sched = Scheduler([("a", 0.05, job)], max_concurrency=None, observer=obs)
    real_start = sched._start_due
    cut = False

    def start_then_cancel(wake: float) -> None:
        nonlocal cut
        real_start(wake)
        if not cut and "a" in sched._running:
            cut = True
            sched._running["a"].cancel()  # before its first step

    sched._start_due = start_then_cancel  # type: ignore[method-assign]
    task = asyncio.create_task(sched.run())
    try:
        while not cut:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.02)
        await sched.remove(["a"], timeout=0.5)
        assert "a" not in sched._running
        sched.add("a", 0.05, job)
        await asyncio.sleep(0.3)
        assert ran, "the check runs again once handed back"
    finally:
        sched.stop()
        await asyncio.wait_for(task, 0.5)
        await sched.drain(0.5)
