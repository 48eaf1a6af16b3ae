"""Incident review entries on every backend: appended in order, read per service, never changed.

Runs on SQLite and PostgreSQL through the contract suite's `store` fixture
(conftest.py). The audit is append-only in the database itself: an UPDATE or
DELETE of a review is refused by a trigger, whatever code tries it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitord.storage.interface import Batch, ReviewAdd, Store

AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


async def test_reviews_are_appended_in_order_and_read_per_service(store: Store) -> None:
    entries = [
        ReviewAdd(AT, "alice", "voice", "reclassify", ("store:1",), value="P2",
                  reason="one site only"),
        ReviewAdd(AT, "bob", "voice", "exclude", (), datetime(2026, 10, 8, 12, tzinfo=UTC),
                  datetime(2026, 10, 8, 12, 30, tzinfo=UTC), "force_majeure", "power cut"),
        ReviewAdd(AT, "alice", "data", "note", ("store:7",), value="ticket moved"),
    ]
    receipt = await store.commit(Batch(tuple(entries)))
    assert [r.id for r in receipt.reviews] == [1, 2, 3]
    voice = await store.reviews(service="voice")
    assert [(r.who, r.action, r.targets, r.value) for r in voice] == [
        ("alice", "reclassify", ("store:1",), "P2"), ("bob", "exclude", (), "force_majeure")]
    assert voice[1].start == datetime(2026, 10, 8, 12, tzinfo=UTC)
    assert voice[0].at == AT and voice[0].start is None
    assert [r.service for r in await store.reviews()] == ["voice", "voice", "data"]


async def test_an_exclusion_needs_its_span(store: Store) -> None:
    with pytest.raises(Exception):  # noqa: B017 - each driver names its own constraint error
        await store.commit(Batch((ReviewAdd(AT, "alice", "voice", "exclude", (),
                                            value="force_majeure"),)))
    assert await store.reviews() == []


async def test_the_database_refuses_to_change_a_review(
    make_store: object, tmp_path: object, request: pytest.FixtureRequest
) -> None:
    """Whatever code tries: the triggers of both migrations refuse UPDATE and DELETE."""
    store = make_store()  # type: ignore[operator]
    await store.open()
    try:
        await store.commit(Batch((ReviewAdd(AT, "alice", "voice", "note", ("store:1",),
                                            value="n"),)))
    finally:
        await store.close()
    if request.node.callspec.params["make_store"] == "sqlite":
        import sqlite3

        with sqlite3.connect(tmp_path / "monitord.db") as conn:  # type: ignore[operator]
            for sql in ("UPDATE reviews SET who = 'mallory'", "DELETE FROM reviews"):
                with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                    conn.execute(sql)
        return
    import asyncpg

    conn = await asyncpg.connect(request.getfixturevalue("pg_url"))
    try:
        for sql in ("UPDATE reviews SET who = 'mallory'", "DELETE FROM reviews",
                    "TRUNCATE reviews"):
            with pytest.raises(asyncpg.PostgresError, match="append-only"):
                await conn.execute(sql)
    finally:
        await conn.close()
