"""Fixtures shared by unit and integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from probes.sip.responder import Responder, start_responder
from probes.sip.transport import SipTransports
from tests.postgres import PgCluster


@pytest.fixture
async def transports() -> AsyncIterator[SipTransports]:
    """The daemon's shared SIP transports (one UDP socket, TCP/TLS pools), closed after the test."""
    t = SipTransports()
    await t.start()
    try:
        yield t
    finally:
        await t.close()


@pytest.fixture
async def responder() -> AsyncIterator[Responder]:
    """`monitord responder`'s core on 127.0.0.1 (UDP and TCP, free port), answering OPTIONS."""
    r = await start_responder("127.0.0.1", 0)
    try:
        yield r
    finally:
        r.close()
        await r.wait_closed()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One throwaway PostgreSQL cluster on 127.0.0.1 for the whole session (tests/postgres.py)."""
    cluster = PgCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> Iterator[str]:
    """An empty database of its own for this test: `postgresql://postgres@127.0.0.1:PORT/test_N`."""
    name = pg_cluster.database()
    try:
        yield pg_cluster.url(name)
    finally:
        pg_cluster.recycle(name)
