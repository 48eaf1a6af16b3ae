"""LoopWatch: how late our own loop ran, so our lateness is never the target's."""

from __future__ import annotations

import asyncio
import time

import pytest

from probes.timing import MIN_TOLERANCE, LoopWatch, tolerance


def test_tolerance_is_a_tenth_of_the_budget_with_a_floor() -> None:
    assert tolerance(3.0) == pytest.approx(0.3)
    assert tolerance(0.1) == MIN_TOLERANCE


async def test_a_blocked_loop_shows_as_late_and_an_idle_one_does_not() -> None:
    loop = asyncio.get_running_loop()
    watch = LoopWatch(period=0.01, keep=10.0)
    assert watch.lateness_since(loop.time()) == 0.0  # not started: knows nothing
    watch.start()
    try:
        await asyncio.sleep(0.1)
        quiet_from = loop.time()
        await asyncio.sleep(0.1)
        assert watch.lateness_since(quiet_from) < 0.05
        blocked_at = loop.time()
        time.sleep(0.3)  # a callback that hogs the loop, as an overloaded daemon does
        assert watch.lateness_since(blocked_at) >= 0.25  # late right now, before a tick ran
        await asyncio.sleep(0.05)
        assert watch.lateness_since(blocked_at) >= 0.25  # and remembered after it did
        await asyncio.sleep(0.1)
        assert watch.lateness_since(loop.time() - 0.02) < 0.05  # the lag is over
    finally:
        watch.stop()
    assert not watch.running
