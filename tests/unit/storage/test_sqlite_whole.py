"""SQLite writes run whole on aiosqlite's thread (storage/sqlite/connection.py `run_whole`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from monitord.errors import StorageError
from monitord.storage.sqlite import SqliteStore
from monitord.storage.tx import Tx


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = SqliteStore(tmp_path / "m.db")
    await store.open()
    yield store
    await store.close()


async def test_work_that_awaits_anything_but_its_transaction_fails_rolled_back(
    sqlite: SqliteStore,
) -> None:
    async def strays(tx: Tx) -> None:
        await tx.execute("CREATE TABLE t (x INTEGER)")
        await asyncio.sleep(0)  # the event loop, which aiosqlite's thread has not

    with pytest.raises(StorageError, match="awaited something other than its transaction"):
        await sqlite._write("a stray await", strays)

    async def tables(tx: Tx) -> list[str]:
        return [r[0] for r in await tx.fetch("SELECT name FROM sqlite_master WHERE name='t'")]

    assert await sqlite._write("the next write", tables) == []  # rolled back, not left open


async def test_a_failing_statement_rolls_the_whole_unit_back_and_names_the_work(
    sqlite: SqliteStore,
) -> None:
    async def create(tx: Tx) -> None:
        await tx.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)")

    await sqlite._write("creating", create)

    async def half(tx: Tx) -> None:
        await tx.insert("INSERT INTO t (x) VALUES (?)", (1,))
        await tx.insert("INSERT INTO t (x) VALUES (?)", (1,))  # the same key again

    with pytest.raises(StorageError, match=r"inserting twice failed on .*UNIQUE"):
        await sqlite._write("inserting twice", half)

    async def count(tx: Tx) -> int:
        return int((await tx.fetch("SELECT count(*) FROM t"))[0][0])

    assert await sqlite._write("counting", count) == 0
