"""A write cancelled mid-flight (daemon shutdown) must not wedge the store, on any backend.

aiosqlite runs statements on its own thread: cancelling the awaiting task does
not stop a BEGIN or an INSERT already queued there; asyncpg has a statement in
flight on the server. Either way the store must leave its connection outside
any transaction, so the next write (the final flush at shutdown, or anything
after) succeeds, and the cancelled write is all or nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import pytest

from monitord.core.events import CheckSnapshot, CheckState
from monitord.storage.interface import Batch, CheckCommit, Store

T0 = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def snapshots(n: int, start: int = 0) -> Batch:
    return Batch(tuple(
        CheckCommit(CheckSnapshot(f"sbc-{start + i}", CheckState.UP, 0, 1, None, None, "", None,
                                  T0 + timedelta(seconds=i)))
        for i in range(n)
    ))


@pytest.mark.parametrize("yields", [1, 2, 3, 4, 6, 10])
async def test_a_cancelled_write_leaves_the_store_usable(store: Store, yields: int) -> None:
    await store.start_run(T0)
    task = asyncio.create_task(store.commit(snapshots(50)))
    for _ in range(yields):  # cancel at different points of the transaction
        await asyncio.sleep(0)
    task.cancel()
    # with many yields the write may finish before the cancel lands: both are fine
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await store.commit(snapshots(10, start=100))  # must not find a transaction open
    total = len(await store.load_check_snapshots())
    assert total in (10, 60), "the cancelled write is all or nothing"
    await store.heartbeat(T0 + timedelta(minutes=5))
