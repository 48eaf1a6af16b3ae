"""Schema versions of the SQLite store, and what it does with a file it cannot trust."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import monitord.migrations as migrations
from monitord import __version__
from monitord.core.events import CheckSnapshot, CheckState, DowntimeOpened
from monitord.errors import SchemaVersionError, StorageError
from monitord.migrations import Migration, load_migrations, split_statements
from monitord.storage.interface import Batch, CheckCommit
from monitord.storage.sqlite import SqliteStore
from tests.writes import commit_check

T0 = datetime(2024, 10, 27, 1, 30, tzinfo=UTC)
LATEST = len(load_migrations())


def pragma(path: Path, name: str) -> object:
    with closing(sqlite3.connect(path)) as raw:
        return raw.execute(f"PRAGMA {name}").fetchone()[0]


def set_pragma(path: Path, name: str, value: int) -> None:
    with closing(sqlite3.connect(path, isolation_level=None)) as raw:
        raw.execute(f"PRAGMA {name} = {value}")


async def make_db(path: Path) -> None:
    async with SqliteStore(path):
        pass


async def test_migrations_are_packaged_and_numbered_without_gaps() -> None:
    found = load_migrations()

    assert [m.version for m in found] == list(range(1, len(found) + 1))
    assert found[0].name == "0001_initial.sql"
    assert "CREATE TABLE downtimes" in found[0].sql


async def test_a_fresh_database_gets_the_latest_schema(tmp_path: Path) -> None:
    path = tmp_path / "monitord.db"

    await make_db(path)

    assert pragma(path, "user_version") == LATEST
    assert pragma(path, "journal_mode") == "wal"
    with closing(sqlite3.connect(path)) as raw:
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        migrated_by = raw.execute("SELECT value FROM meta WHERE key='migrated_by'").fetchone()
    assert {"downtimes", "episodes", "check_state", "runs", "gaps"} <= tables
    assert "probe_rollup" not in tables  # dropped in schema 6: nobody read it
    assert migrated_by == (__version__,)


async def test_the_connection_is_durable_and_strict(tmp_path: Path) -> None:
    async with SqliteStore(tmp_path / "monitord.db") as store:
        db = store._db  # the pragmas below are per connection, so ask the store's own
        assert db is not None
        values = [
            next(iter(await db.execute_fetchall(f"PRAGMA {name}")))[0]
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        ]

    assert values == ["wal", 1, 1, 5000]  # synchronous 1 = NORMAL


async def test_reopening_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "monitord.db"
    await make_db(path)
    await make_db(path)
    await make_db(path)

    assert pragma(path, "user_version") == LATEST


async def test_two_processes_migrating_at_once_both_succeed(tmp_path: Path) -> None:
    """The daemon and a reader (`monitord report`) opening a fresh file at the same moment."""
    path = tmp_path / "monitord.db"
    first, second = SqliteStore(path), SqliteStore(path, writer=False)

    try:
        await asyncio.gather(first.open(), second.open())
    finally:
        await first.close()
        await second.close()

    assert pragma(path, "user_version") == LATEST


async def test_data_survives_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "monitord.db"
    snapshot = CheckSnapshot(
        "sip-a", CheckState.DOWN, 5, 0, T0, "timeout", "no answer", T0, T0 + timedelta(seconds=40)
    )
    async with SqliteStore(path) as store:
        await store.start_run(T0)
        await commit_check(store, 
            snapshot, [DowntimeOpened("sip-a", T0, T0 + timedelta(seconds=40), "timeout", "x")]
        )
        before = await store.downtimes()

    async with SqliteStore(path) as store:
        gap = await store.start_run(T0 + timedelta(minutes=5))
        after = await store.downtimes()
        snapshots = await store.load_check_snapshots()

    assert after == before
    assert snapshots == {"sip-a": snapshot}
    assert gap is not None and gap.start == T0 + timedelta(seconds=40)


async def test_a_newer_schema_is_refused_naming_the_release_to_run(tmp_path: Path) -> None:
    path = tmp_path / "monitord.db"
    await make_db(path)
    set_pragma(path, "user_version", LATEST + 1)
    with closing(sqlite3.connect(path, isolation_level=None)) as raw:
        raw.execute("UPDATE meta SET value = '9.4.0' WHERE key = 'migrated_by'")

    with pytest.raises(SchemaVersionError) as caught:
        await make_db(path)

    message = str(caught.value)
    assert str(path) in message
    assert f"schema version {LATEST + 1}" in message
    assert f"up to {LATEST}" in message
    assert "monitord 9.4.0 or later" in message
    assert pragma(path, "user_version") == LATEST + 1  # left as it was


async def test_a_newer_schema_without_meta_still_says_which_schema_is_needed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "monitord.db"
    set_pragma(path, "user_version", 99)

    with pytest.raises(SchemaVersionError, match="a monitord that knows schema 99"):
        await make_db(path)


async def test_an_older_schema_is_migrated_keeping_its_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "monitord.db"
    async with SqliteStore(path) as store:
        await commit_check(store, CheckSnapshot.initial("sip-a"), [])
    step = Migration(
        LATEST + 1, "9999_note.sql", "ALTER TABLE check_state ADD COLUMN note TEXT; -- ok;\n"
    )
    monkeypatch.setattr(migrations, "load_migrations", lambda: [*load_migrations(), step])

    async with SqliteStore(path) as store:
        snapshots = await store.load_check_snapshots()

    assert pragma(path, "user_version") == LATEST + 1
    assert list(snapshots) == ["sip-a"]


async def test_a_failing_migration_leaves_the_previous_schema_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "monitord.db"
    await make_db(path)
    broken = Migration(
        LATEST + 1,
        "9999_broken.sql",
        "CREATE TABLE extra (x INTEGER);\nINSERT INTO nowhere VALUES (1);\n",
    )
    monkeypatch.setattr(migrations, "load_migrations", lambda: [*load_migrations(), broken])

    with pytest.raises(StorageError, match="no such table: nowhere") as caught:
        await make_db(path)

    assert str(path) in str(caught.value)
    assert pragma(path, "user_version") == LATEST
    with closing(sqlite3.connect(path)) as raw:
        extra = raw.execute("SELECT name FROM sqlite_master WHERE name = 'extra'").fetchall()
    assert extra == []


@pytest.mark.parametrize(
    "content",
    [b"this is not a database, it is a config file\n" * 100, b"SQLite format 3\x00\x10\x00"],
    ids=["garbage", "header-only"],
)
async def test_a_file_that_is_not_a_database_is_a_storage_error(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "monitord.db"
    path.write_bytes(content)

    with pytest.raises(StorageError) as caught:
        await make_db(path)

    assert str(path) in str(caught.value)
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)


async def test_a_truncated_database_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "monitord.db"
    async with SqliteStore(path) as store:
        await store.start_run(T0)
        await store.commit(Batch(tuple(
            CheckCommit(CheckSnapshot(f"check-{n:04d}-" + "x" * 200, CheckState.UP, 0, 1, None,
                                      None, "", None, T0 + timedelta(minutes=n)))
            for n in range(1000)
        )))
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size // 2)

    with pytest.raises(StorageError) as caught:
        async with SqliteStore(path) as store:
            await store.load_check_snapshots()

    assert str(path) in str(caught.value)


async def test_an_unreachable_path_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    path = tmp_path / "file" / "dir" / "monitord.db"

    with pytest.raises(StorageError, match=str(path)):
        await make_db(path)


async def test_using_a_store_that_is_not_open_is_a_storage_error(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "monitord.db")

    with pytest.raises(StorageError, match="not open"):
        await store.downtimes()


def test_statements_split_where_sqlite_says_they_end() -> None:
    script = """
    -- a comment; with a semicolon
    CREATE TABLE a (x TEXT DEFAULT 'semi;colon');
    CREATE TRIGGER a_t AFTER INSERT ON a BEGIN
        UPDATE a SET x = 'y;' WHERE rowid = new.rowid;
    END;
    /* trailing comment */
    """

    statements = split_statements(script)

    assert statements[0].endswith("DEFAULT 'semi;colon');")
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")
    with closing(sqlite3.connect(":memory:")) as raw:
        for statement in statements:  # each piece is one statement SQLite accepts
            raw.execute(statement)
        raw.execute("INSERT INTO a DEFAULT VALUES")
        assert raw.execute("SELECT x FROM a").fetchall() == [("y;",)]


def test_an_unfinished_statement_is_kept_for_sqlite_to_report() -> None:
    assert split_statements("CREATE TABLE a (x);\nCREATE TABLE b (") == [
        "CREATE TABLE a (x);",
        "CREATE TABLE b (",
    ]
