"""One loop timer for many alarms: time order, cancellation, errors, and a bounded heap."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from probes.alarms import COMPACT_MIN, Alarms


async def test_alarms_run_in_time_order_and_ties_in_the_order_they_were_set() -> None:
    loop = asyncio.get_running_loop()
    alarms, ran = Alarms(), []
    now = loop.time()
    for label, delay in [("c", 0.03), ("a", 0.01), ("b1", 0.02), ("b2", 0.02)]:
        alarms.at(now + delay, ran.append, label)
    await asyncio.sleep(0.06)
    assert ran == ["a", "b1", "b2", "c"]
    assert alarms.waiting == 0


async def test_an_alarm_never_runs_before_its_time() -> None:
    loop = asyncio.get_running_loop()
    alarms, at = Alarms(), []
    due = loop.time() + 0.02
    alarms.at(due, lambda: at.append(loop.time()))
    alarms.at(due + 0.03, lambda: at.append(loop.time()))
    await asyncio.sleep(0.08)
    assert len(at) == 2 and at[0] >= due - 1e-3 and at[1] >= due + 0.03 - 1e-3


async def test_a_cancelled_alarm_does_not_run_and_an_earlier_one_set_later_does() -> None:
    loop = asyncio.get_running_loop()
    alarms, ran = Alarms(), []
    now = loop.time()
    late = alarms.at(now + 0.05, ran.append, "late")
    alarms.at(now + 0.01, ran.append, "early")  # earlier than the armed loop timer
    late.cancel()
    late.cancel()  # twice is harmless
    await asyncio.sleep(0.08)
    assert ran == ["early"]


async def test_a_failing_callback_goes_to_the_loop_handler_and_the_others_still_run() -> None:
    loop = asyncio.get_running_loop()
    seen: list[BaseException | None] = []
    loop.set_exception_handler(lambda _loop, ctx: seen.append(ctx.get("exception")))
    alarms, ran = Alarms(), []
    now = loop.time()

    def boom() -> None:
        raise RuntimeError("boom")

    alarms.at(now + 0.01, boom)
    alarms.at(now + 0.01, ran.append, "after")
    await asyncio.sleep(0.04)
    loop.set_exception_handler(None)
    assert ran == ["after"]
    assert len(seen) == 1 and isinstance(seen[0], RuntimeError)


async def test_a_callback_may_set_and_cancel_alarms() -> None:
    loop = asyncio.get_running_loop()
    alarms, ran = Alarms(), []
    now = loop.time()
    doomed = alarms.at(now + 0.03, ran.append, "doomed")

    def first() -> None:
        ran.append("first")
        doomed.cancel()
        alarms.at(loop.time(), ran.append, "now")  # due at once: this turn or the next
        alarms.at(loop.time() + 0.02, ran.append, "later")

    alarms.at(now + 0.01, first)
    await asyncio.sleep(0.07)
    assert ran == ["first", "now", "later"]


async def test_cancelled_alarms_do_not_pile_up() -> None:
    loop = asyncio.get_running_loop()
    alarms = Alarms()
    far = loop.time() + 3600
    keep = [alarms.at(far + i, lambda: None) for i in range(10)]
    for i in range(50 * COMPACT_MIN):
        alarms.at(far + i, lambda: None).cancel()
    assert alarms.waiting <= 2 * COMPACT_MIN + len(keep) + 2
    alarms.close()
    assert alarms.waiting == 0 and all(a.done for a in keep)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.booleans()), min_size=1, max_size=40))
def test_whatever_is_set_and_cancelled_exactly_the_live_alarms_run_in_time_order(
    plan: list[tuple[int, bool]],
) -> None:
    async def run() -> list[tuple[int, int]]:
        loop = asyncio.get_running_loop()
        alarms, ran = Alarms(), []
        now = loop.time()
        handles = [alarms.at(now + ms / 1000, ran.append, (ms, i)) for i, (ms, _) in
                   enumerate(plan)]
        for handle, (_, cancel) in zip(handles, plan, strict=True):
            if cancel:
                handle.cancel()
        await asyncio.sleep(0.045)
        return ran

    ran = asyncio.run(run())
    expected = sorted((ms, i) for i, (ms, cancel) in enumerate(plan) if not cancel)
    assert ran == expected
