"""Every backend-neutral storage test runs once per backend: SQLite and a real PostgreSQL.

`open_store(**options)` opens a store on this test's data (a file in tmp_path,
or a database of its own in the session's cluster, see tests/postgres.py); a
second call opens another store on the same data, as a restarted daemon would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from monitord.storage.interface import Store
from monitord.storage.postgresql import PostgresStore
from monitord.storage.sqlite import SqliteStore

OpenStore = Callable[..., Awaitable[Store]]
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., Store]:
    """A not-yet-opened store of this test's backend, on this test's data."""
    if request.param == "sqlite":
        return lambda **options: SqliteStore(tmp_path / "monitord.db", **options)
    url: str = request.getfixturevalue("pg_url")
    return lambda **options: PostgresStore(url, **options)


@pytest.fixture
async def open_store(make_store: Callable[..., Store]) -> AsyncIterator[OpenStore]:
    """Opens stores on the same data, as a restarted daemon would; closes them all after."""
    opened: list[Store] = []

    async def factory(**options: Any) -> Store:
        store = make_store(**options)
        await store.open()
        opened.append(store)
        return store

    yield factory
    for store in opened:
        await store.close()


@pytest.fixture
async def store(open_store: OpenStore) -> Store:
    return await open_store()
