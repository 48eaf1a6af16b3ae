"""What only the PostgreSQL backend does: its advisory writer lock, reconnecting, its migrations.

A real server: the session's throwaway cluster (tests/postgres.py), a database
per test. Everything the two backends share is in the contract suite.
"""

from __future__ import annotations

import asyncio
import os
import socket
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from monitord import __version__
from monitord.core.events import CheckSnapshot, CheckState
from monitord.errors import SchemaVersionError, StorageError, StoreLockedError
from monitord.migrations import Migration, load_migrations
from monitord.storage.postgresql import PostgresStore
from monitord.storage.postgresql import migrate as pg_migrate
from monitord.storage.postgresql.migrate import PACKAGE
from tests.postgres import PgCluster
from tests.writes import commit_check

T0 = datetime(2026, 11, 1, tzinfo=UTC)
LATEST = len(load_migrations(PACKAGE))


def up(check: str, minutes: float) -> CheckSnapshot:
    return CheckSnapshot(check, CheckState.UP, 0, 1, None, None, "", None,
                         T0 + timedelta(minutes=minutes))


def session_of(store: PostgresStore) -> int:
    assert store._conn is not None
    return store._conn.get_server_pid()


def terminate(cluster: PgCluster, pid: int) -> None:
    cluster.sql(f"SELECT pg_terminate_backend({pid}, 10000)")


async def test_a_second_writer_is_refused_naming_the_holder_and_writes_nothing(
    pg_url: str,
) -> None:
    async with PostgresStore(pg_url) as live:
        await live.start_run(T0)
        second = PostgresStore(pg_url)
        with pytest.raises(StoreLockedError) as caught:
            await second.open()
        message = str(caught.value)
        assert f"monitord pid {os.getpid()} on {socket.gethostname()}" in message
        assert f"database session {session_of(live)}" in message and pg_url in message
        await second.close()  # harmless, and must not release the live daemon's lock
        with pytest.raises(StoreLockedError):
            await PostgresStore(pg_url).open()
        async with PostgresStore(pg_url, writer=False) as reader:  # reports read alongside
            assert len(await reader.runs()) == 1
        await live.heartbeat(T0 + timedelta(seconds=1))  # the live writer is untouched
    async with PostgresStore(pg_url) as restarted:  # released at close
        assert len(await restarted.runs()) == 1


async def test_a_killed_writer_frees_the_lock_and_cannot_take_it_back(
    pg_url: str, pg_cluster: PgCluster
) -> None:
    first = PostgresStore(pg_url)
    await first.open()
    await first.start_run(T0)
    terminate(pg_cluster, session_of(first))  # as if its process died: the session ends
    async with PostgresStore(pg_url) as second:
        await second.start_run(T0 + timedelta(minutes=1))
        with pytest.raises(StorageError):  # the broken connection
            await commit_check(first, up("sbc-a", 2))
        with pytest.raises(StoreLockedError):  # reconnecting finds the new holder
            await commit_check(first, up("sbc-a", 2))
        assert await second.load_check_snapshots() == {}
    await first.close()


async def test_a_broken_connection_fails_one_unit_then_reconnects_and_relocks(
    pg_url: str, pg_cluster: PgCluster
) -> None:
    async with PostgresStore(pg_url) as store:
        await store.start_run(T0)
        before = session_of(store)
        terminate(pg_cluster, before)  # a server restart or a network cut, seen from here
        with pytest.raises(StorageError, match="failed on postgresql://"):
            await commit_check(store, up("sbc-a", 1))
        await commit_check(store, up("sbc-a", 2))  # a new session, the lock taken again
        assert session_of(store) != before
        assert list(await store.load_check_snapshots()) == ["sbc-a"]
        with pytest.raises(StoreLockedError):
            await PostgresStore(pg_url).open()


async def test_a_writer_ends_its_own_stale_session_to_take_the_lock_back(pg_url: str) -> None:
    """Its old session may outlive a broken connection until the server notices; a session
    that is not its own is never ended."""
    holder = PostgresStore(pg_url)
    await holder.open()
    stale = session_of(holder)
    comeback = PostgresStore(pg_url)
    comeback._session = stale + 1  # some other session: not ours to end
    with pytest.raises(StoreLockedError):
        await comeback.open()
    comeback._session = stale  # as if `holder`'s session were this store's lost one
    await comeback.open()
    await comeback.start_run(T0)
    with pytest.raises(StorageError):
        await holder.heartbeat(T0)  # its session was ended
    await holder.close()
    await comeback.close()


async def test_a_fresh_database_gets_the_latest_schema_once(pg_url: str) -> None:
    stores = [PostgresStore(pg_url), PostgresStore(pg_url, writer=False),
              PostgresStore(pg_url, writer=False)]
    try:
        await asyncio.gather(*(s.open() for s in stores))  # daemon and readers at once
    finally:
        for s in stores:
            await s.close()
    conn = await asyncpg.connect(pg_url)
    try:
        meta = dict(await conn.fetch("SELECT key, value FROM meta"))
        tables = {r[0] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        kinds = dict(await conn.fetch(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_name = 'downtimes'"))
    finally:
        await conn.close()
    assert meta == {"schema_version": str(LATEST), "migrated_by": __version__}
    assert {"downtimes", "episodes", "check_state", "runs", "gaps", "outbox", "events",
            "maintenance_windows", "quality_intervals"} <= tables
    assert kinds["start_us"] == kinds["end_us"] == "bigint"  # exact microseconds


async def test_a_newer_schema_is_refused_naming_the_release_to_run(pg_url: str) -> None:
    async with PostgresStore(pg_url):
        pass
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute("UPDATE meta SET value = $1 WHERE key = 'schema_version'",
                           str(LATEST + 1))
        await conn.execute("UPDATE meta SET value = '9.4.0' WHERE key = 'migrated_by'")
    finally:
        await conn.close()

    with pytest.raises(SchemaVersionError) as caught:
        await PostgresStore(pg_url, writer=False).open()

    message = str(caught.value)
    assert pg_url in message and f"schema version {LATEST + 1}" in message
    assert f"up to {LATEST}" in message and "monitord 9.4.0 or later" in message


async def test_a_failing_migration_leaves_the_previous_schema_whole(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with PostgresStore(pg_url) as store:
        await commit_check(store, up("sbc-a", 0))
    broken = Migration(LATEST + 1, "9999_broken.sql",
                       "CREATE TABLE extra (x INTEGER);\nINSERT INTO nowhere VALUES (1);\n")
    real = pg_migrate.load_migrations
    monkeypatch.setattr(pg_migrate, "load_migrations", lambda package: [*real(package), broken])

    with pytest.raises(StorageError, match='relation "nowhere" does not exist') as caught:
        await PostgresStore(pg_url).open()

    assert pg_url in str(caught.value)
    assert "9999_broken.sql" in "".join(getattr(caught.value.__cause__, "__notes__", []))
    monkeypatch.undo()
    async with PostgresStore(pg_url) as store:  # the previous schema, whole, data kept
        assert list(await store.load_check_snapshots()) == ["sbc-a"]
    conn = await asyncpg.connect(pg_url)
    try:
        assert await conn.fetchval("SELECT to_regclass('extra')") is None
    finally:
        await conn.close()


async def test_an_unreachable_server_is_a_storage_error_without_the_password(
    pg_cluster: PgCluster,
) -> None:
    url = f"postgresql://monitord@127.0.0.1:{pg_cluster.port}/no_such_database"
    with pytest.raises(StorageError, match="no_such_database") as caught:
        await PostgresStore(url, password="s3cret-pw", connect_timeout=5).open()
    assert "s3cret-pw" not in str(caught.value)


async def test_using_a_store_that_is_not_open_is_a_storage_error(pg_url: str) -> None:
    with pytest.raises(StorageError, match="not open"):
        await PostgresStore(pg_url).downtimes()
