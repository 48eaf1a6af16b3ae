"""One-off maintenance windows in the SQLite store (schema 3).

Why a module of its own: windows are SLA input, not monitoring output, and
`SqliteStore` delegates here so its file stays about downtime intervals.
Deleting only marks a row (`deleted_at`): a withdrawn window stays on the
record, because it may already have suppressed an alert that a dispute asks
about. Times are integer UTC microseconds, like every other table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiosqlite

from monitord.storage.records import MaintenanceRecord
from monitord.storage.timestamps import datetime_to_us, us_to_datetime

_COLUMNS = "id, service, start_us, end_us, kind, announced_us, reason, created_us, deleted_us"


def _record(row: Any) -> MaintenanceRecord:
    return MaintenanceRecord(
        id=row[0],
        service=row[1],
        start=us_to_datetime(row[2]),
        end=us_to_datetime(row[3]),
        kind=row[4],
        announced_at=us_to_datetime(row[5]),
        reason=row[6],
        created_at=us_to_datetime(row[7]),
        deleted_at=None if row[8] is None else us_to_datetime(row[8]),
    )


async def add(
    db: aiosqlite.Connection,
    *,
    service: str,
    start: datetime,
    end: datetime,
    kind: str,
    announced_at: datetime,
    reason: str,
    now: datetime,
) -> MaintenanceRecord:
    if end <= start:
        raise ValueError("a maintenance window must end after it starts")
    cursor = await db.execute(
        f"INSERT INTO maintenance_windows ({_COLUMNS}) VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, NULL)",
        (
            service,
            datetime_to_us(start),
            datetime_to_us(end),
            kind,
            datetime_to_us(announced_at),
            reason,
            datetime_to_us(now),
        ),
    )
    new_id = cursor.lastrowid
    await cursor.close()
    assert new_id is not None
    rows = list(
        await db.execute_fetchall(
            f"SELECT {_COLUMNS} FROM maintenance_windows WHERE id = ?", (new_id,)
        )
    )
    return _record(rows[0])


async def delete(db: aiosqlite.Connection, window_id: int, now: datetime) -> MaintenanceRecord | None:
    """Mark the window withdrawn; None when there is no such (undeleted) window."""
    cursor = await db.execute(
        "UPDATE maintenance_windows SET deleted_us = ? WHERE id = ? AND deleted_us IS NULL",
        (datetime_to_us(now), window_id),
    )
    changed = cursor.rowcount
    await cursor.close()
    if not changed:
        return None
    rows = list(
        await db.execute_fetchall(
            f"SELECT {_COLUMNS} FROM maintenance_windows WHERE id = ?", (window_id,)
        )
    )
    return _record(rows[0])


async def select(
    db: aiosqlite.Connection,
    *,
    service: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    include_deleted: bool = False,
) -> list[MaintenanceRecord]:
    """Windows overlapping [since, until), oldest first."""
    clauses: list[str] = []
    params: list[Any] = []
    if service is not None:
        clauses.append("service = ?")
        params.append(service)
    if since is not None:
        clauses.append("end_us > ?")
        params.append(datetime_to_us(since))
    if until is not None:
        clauses.append("start_us < ?")
        params.append(datetime_to_us(until))
    if not include_deleted:
        clauses.append("deleted_us IS NULL")
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = await db.execute_fetchall(
        f"SELECT {_COLUMNS} FROM maintenance_windows{where} ORDER BY start_us, id", params
    )
    return [_record(row) for row in rows]
