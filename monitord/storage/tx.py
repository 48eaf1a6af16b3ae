"""The SQL every backend speaks, and the one handle the store's SQL runs through.

Why: the store's rules (interval merging, outbox rows, runs and gaps, the
queries) are written once, for SQLite and PostgreSQL alike. That SQL keeps to
what both accept: `?` placeholders (the PostgreSQL handle numbers them),
integer microseconds for instants (exact in both, see `timestamps.py`),
`INSERT ... ON CONFLICT`, and CASE where SQLite would use its two-argument
max(). A backend supplies a `Tx` and the transaction around it; nothing else
here knows which database it talks to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, Self

from monitord.errors import StorageError
from monitord.storage.records import Level
from monitord.storage.timestamps import datetime_to_us, us_to_datetime

__all__ = ["Filter", "Row", "Tx", "level_of", "opt_dt", "opt_us"]



class Row(Protocol):
    """A result row of either driver (sqlite3.Row, asyncpg.Record): read by position."""

    def __getitem__(self, index: int, /) -> Any: ...


class Tx(Protocol):
    """A connection inside the backend's transaction (writes) or its read lock (reads)."""

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return how many rows it changed."""

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    async def insert(self, sql: str, params: Sequence[Any]) -> int:
        """Run one INSERT into a table keyed by `id`; return the new row's id."""


@dataclass
class Filter:
    """A WHERE clause built from optional filters; the interval-overlap rule lives here, once."""

    clauses: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def equal(self, column: str, value: object | None) -> Self:
        if value is not None:
            self.clauses.append(f"{column} = ?")
            self.params.append(value)
        return self

    def holds(self, clause: str, *params: Any) -> Self:
        self.clauses.append(clause)
        self.params.extend(params)
        return self

    def overlapping(
        self,
        since: datetime | None,
        until: datetime | None,
        *,
        start: str = "start_us",
        end: str = "end_us",
    ) -> Self:
        """Rows whose [start, end) overlaps [since, until); a NULL end means still open.

        A zero-length row overlaps when its instant lies in the window, so an
        interval closed at its own start is still found, and an instant (give the
        same column as start and end) is in [since, until) exactly when
        since <= at < until.
        """
        if until is not None:
            self.holds(f"{start} < ?", datetime_to_us(until))
        if since is not None:
            since_us = datetime_to_us(since)
            if start == end:
                self.holds(f"{start} >= ?", since_us)
            else:
                self.holds(f"({end} IS NULL OR {end} > ? OR {start} >= ?)", since_us, since_us)
        return self

    @property
    def sql(self) -> str:
        return f" WHERE {' AND '.join(self.clauses)}" if self.clauses else ""


def opt_us(value: datetime | None) -> int | None:
    return None if value is None else datetime_to_us(value)


def opt_dt(value: int | None) -> datetime | None:
    return None if value is None else us_to_datetime(value)


def level_of(value: str) -> Level:
    if value == "check":
        return "check"
    if value == "service":
        return "service"
    raise StorageError(f"unknown downtime level {value!r} in the database")
