"""A write cancelled mid-flight (daemon shutdown) must not wedge the store.

aiosqlite runs statements on its own thread: cancelling the awaiting task does
not stop a BEGIN or an INSERT already queued there. The store must still leave
the connection outside any transaction, so the next write (the final flush at
shutdown, or anything after) succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitord.storage.base import ProbeSample
from monitord.storage.sqlite import SqliteStore

T0 = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def samples(n: int, start: int = 0) -> list[ProbeSample]:
    return [
        ProbeSample("sbc", T0 + timedelta(seconds=start + i), True, 0.001, None) for i in range(n)
    ]


@pytest.mark.parametrize("yields", [1, 2, 3, 4, 6, 10])
async def test_a_cancelled_write_leaves_the_store_usable(tmp_path: Path, yields: int) -> None:
    async with SqliteStore(tmp_path / "monitord.db") as store:
        await store.start_run(T0)
        task = asyncio.create_task(store.record_probes(samples(50)))
        for _ in range(yields):  # cancel at different points of the transaction
            await asyncio.sleep(0)
        task.cancel()
        # with many yields the write may finish before the cancel lands: both are fine
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await store.record_probes(samples(10, start=100))  # must not find a transaction open
        rollups = await store.probe_rollups("sbc")
        total = sum(r.probes for r in rollups)
        assert total in (10, 60), "the cancelled write is all or nothing"
        await store.heartbeat(T0 + timedelta(minutes=5))


async def test_samples_of_a_failed_flush_are_kept_for_the_next(tmp_path: Path) -> None:
    from monitord.config import effective_checks, parse_config
    from monitord.core.pipeline import Pipeline
    from probes.base import ProbeResult

    cfg = parse_config("checks: [{name: sbc, type: sip_options, target: 'sip:127.0.0.1:5060'}]")
    async with SqliteStore(tmp_path / "monitord.db") as store:
        await store.start_run(T0)
        pipeline = Pipeline(effective_checks(cfg), [], store, {}, {}, sinks=[])
        for i in range(3):
            await pipeline.observe("sbc", T0 + timedelta(seconds=i), ProbeResult.success(0.001), 0.001)
        task = asyncio.create_task(pipeline.flush_samples())
        for _ in range(3):
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await pipeline.flush_samples()
        assert sum(r.probes for r in await store.probe_rollups("sbc")) == 3, "none lost, none twice"
