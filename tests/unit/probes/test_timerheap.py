"""One heap for every transaction's timer: the order asyncio would run a timer of each."""

from __future__ import annotations

import asyncio

from hypothesis import given
from hypothesis import strategies as st

from probes.timerheap import Entry, LoopTimers, TimerHeap

# each step: arm owner k at a due time, cancel owner k's timer, or run what is due by t
steps = st.lists(st.one_of(
    st.tuples(st.just("arm"), st.integers(0, 30), st.integers(0, 40)),
    st.tuples(st.just("cancel"), st.integers(0, 30), st.just(0)),
    st.tuples(st.just("run"), st.just(0), st.integers(0, 40)),
), max_size=300)


@given(steps)
def test_entries_come_out_by_due_then_arming_order_and_cancelled_never(
        ops: list[tuple[str, int, int]]) -> None:
    heap: TimerHeap[int] = TimerHeap()
    entries: dict[int, Entry] = {}
    model: dict[int, tuple[int, int]] = {}  # owner -> (due, armed as n-th)
    armed = 0
    for op, owner, value in ops:
        if op == "arm":
            if owner in entries:
                heap.cancel(entries[owner])
            entries[owner] = heap.push(float(value), owner)
            armed += 1
            model[owner] = (value, armed)
        elif op == "cancel" and owner in entries:
            heap.cancel(entries.pop(owner))
            model.pop(owner)
        elif op == "run":
            got = [heap.take(e) for e in heap.pop_due(float(value))]
            expected = sorted((k for k, (due, _) in model.items() if due <= value),
                              key=lambda k: model[k])
            assert got == expected
            for k in expected:
                del model[k], entries[k]
        assert heap.stale == sum(1 for e in heap._heap if e[2] is None)
        assert len(heap) <= max(2 * len(model), len(model) + 65)
        assert heap.next_due() == min((float(d) for d, _ in model.values()), default=None)


def test_an_entry_cancelled_after_it_was_handed_out_is_not_run() -> None:
    heap: TimerHeap[str] = TimerHeap()
    a, b = heap.push(1.0, "a"), heap.push(1.0, "b")
    ready = heap.pop_due(1.0)
    assert ready == [a, b]
    heap.cancel(b)  # e.g. a's run read b's answer
    assert [heap.take(e) for e in ready] == ["a", None]
    assert heap.stale == 0 and len(heap) == 0


async def test_loop_timers_run_each_due_owner_in_order_on_one_loop_timer() -> None:
    loop = asyncio.get_running_loop()
    ran: list[tuple[str, float]] = []
    entries: dict[str, Entry] = {}

    def run(owner: str) -> None:
        ran.append((owner, loop.time()))
        if owner == "a":
            timers.cancel(entries["c"])  # an earlier run cancels a later one, due as well
            entries["d"] = timers.arm(loop.time() + 0.02, "d")  # and arms a new one

    timers: LoopTimers[str] = LoopTimers(run)
    timers.start(loop)
    now = loop.time()
    for name, delay in (("b", 0.05), ("a", 0.03), ("c", 0.03), ("e", 0.2)):
        entries[name] = timers.arm(now + delay, name)
    timers.cancel(entries["e"])
    await asyncio.sleep(0.12)
    assert [owner for owner, _ in ran] == ["a", "b", "d"]
    for (owner, at), due in zip(ran, (now + 0.03, now + 0.05), strict=False):
        assert at >= due, owner
    assert ran[2][1] >= ran[0][1] + 0.02
    timers.stop()
    assert len(timers.heap) == 0
