"""One-off maintenance windows (schema 3): added and withdrawn inside a commit.

Why a module of its own: windows are SLA input, not monitoring output, and
the writer delegates here so its file stays about downtime intervals.
Deleting only marks a row (`deleted_at`): a withdrawn window stays on the
record, because it may already have suppressed an alert that a dispute asks
about. Times are integer UTC microseconds, like every other table.
"""

from __future__ import annotations

from datetime import datetime

from monitord.storage.records import MaintenanceRecord
from monitord.storage.timestamps import datetime_to_us, us_to_datetime
from monitord.storage.tx import Row, Tx, opt_dt

COLUMNS = "id, service, start_us, end_us, kind, announced_us, reason, created_us, deleted_us"


def record(row: Row) -> MaintenanceRecord:
    """A row of `SELECT {COLUMNS} FROM maintenance_windows`."""
    return MaintenanceRecord(
        id=row[0],
        service=row[1],
        start=us_to_datetime(row[2]),
        end=us_to_datetime(row[3]),
        kind=row[4],
        announced_at=us_to_datetime(row[5]),
        reason=row[6],
        created_at=us_to_datetime(row[7]),
        deleted_at=opt_dt(row[8]),
    )


async def _get(tx: Tx, window_id: int) -> MaintenanceRecord:
    rows = await tx.fetch(f"SELECT {COLUMNS} FROM maintenance_windows WHERE id = ?", (window_id,))
    return record(rows[0])


async def add(
    tx: Tx,
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
    new_id = await tx.insert(
        "INSERT INTO maintenance_windows"
        " (service, start_us, end_us, kind, announced_us, reason, created_us)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (service, datetime_to_us(start), datetime_to_us(end), kind,
         datetime_to_us(announced_at), reason, datetime_to_us(now)),
    )
    return await _get(tx, new_id)


async def delete(tx: Tx, window_id: int, now: datetime) -> MaintenanceRecord | None:
    """Mark the window withdrawn; None when there is no such (undeleted) window."""
    changed = await tx.execute(
        "UPDATE maintenance_windows SET deleted_us = ? WHERE id = ? AND deleted_us IS NULL",
        (datetime_to_us(now), window_id),
    )
    return await _get(tx, window_id) if changed else None
