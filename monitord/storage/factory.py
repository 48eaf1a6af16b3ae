"""The one place that turns `daemon.storage` into a store: SQLite or PostgreSQL.

The daemon (the writer) and the readers that open the record themselves
(`monitord report`, the SLA CLI) call this, so a new backend is one branch here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, assert_never

from monitord.errors import StorageError
from monitord.storage.location import PostgresLocation, SqliteLocation, parse_storage
from monitord.storage.postgresql import PostgresStore
from monitord.storage.postgresql.judged import FleetRecord
from monitord.storage.sqlite import SqliteStore

if TYPE_CHECKING:
    from monitord.config.models import DaemonConfig

__all__ = ["build_reader", "build_store"]


def build_store(
    daemon: DaemonConfig, *, outbox: bool = False, writer: bool = True
) -> SqliteStore | PostgresStore:
    """The configured store, not yet opened (`await store.open()` takes the writer lock).

    `outbox`: write outbox rows for the MQTT publisher; `writer=False`: read only, no lock.
    """
    location = parse_storage(daemon.storage)
    match location:
        case SqliteLocation(path):
            return SqliteStore(path, outbox=outbox, writer=writer)
        case PostgresLocation(url):
            return PostgresStore(url, password=daemon.storage_secret(), outbox=outbox,
                                 writer=writer)
        case _:
            assert_never(location)



def build_reader(daemon: DaemonConfig) -> SqliteStore | PostgresStore:
    """A read-only store for reports and the CLI, beside a running daemon (no writer lock).

    In a fleet (`daemon.location` set) it is the judged record, with its evidence.

    A SQLite file that does not exist is an error here rather than a new empty
    record: a report over nothing would read as 100 % available.
    """
    location = parse_storage(daemon.storage)
    if isinstance(location, SqliteLocation) and not location.path.is_file():
        raise StorageError(
            f"{location.path}: no monitord database here (daemon.storage); has the daemon run?"
        )
    if daemon.location is not None and isinstance(location, PostgresLocation):
        return FleetRecord(location.url, password=daemon.storage_secret())
    return build_store(daemon, writer=False)
