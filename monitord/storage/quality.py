"""Call-quality intervals in the SQLite store (schema 4, `0004_quality.sql`).

Why a module of its own: a degraded service is not a down service, so these
rows live beside the downtime tables, never in them, and `SqliteStore`
delegates here so its file stays about availability. A change closes the
service's open interval and opens one for the new priority in the same
transaction; with the outbox on, the change is announced from that
transaction too (kind `quality_changed`, level `service`), so MQTT never
tells of a change that was not recorded.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import aiosqlite

from monitord.core.callquality import Priority, QualityChange
from monitord.storage.records import QualityRecord
from monitord.storage.timestamps import datetime_to_us, us_to_datetime

__all__ = ["commit", "select"]

_COLUMNS = "id, service, priority, start_us, end_us, calls, poor_audio, dropped, detail"


_us = datetime_to_us
_dt = us_to_datetime


def _record(row: Any) -> QualityRecord:
    return QualityRecord(
        id=row[0], service=row[1], priority=Priority(row[2]), start=_dt(row[3]),
        end=None if row[4] is None else _dt(row[4]), calls=row[5], poor_audio=row[6],
        dropped=row[7], detail=row[8],
    )


def _outbox_row(change: QualityChange) -> tuple[Any, ...]:
    f = change.figures
    body = {"service": change.service, "from_priority": change.before.label,
            "to_priority": change.after.label,
            "calls": f.calls, "poor_audio": f.poor_audio, "dropped": f.dropped,
            "poor_audio_share": f.poor_audio_share, "dropped_share": f.dropped_share}
    return (str(uuid.uuid4()), "event", "quality_changed", "service", change.service,
            _us(change.at), json.dumps(body, separators=(",", ":"), ensure_ascii=False))


async def commit(db: aiosqlite.Connection, changes: Sequence[QualityChange], *,
                 outbox: bool) -> None:
    """Apply changes in order inside the caller's transaction."""
    for change in changes:
        at = _us(change.at)
        cursor = await db.execute(
            "UPDATE quality_intervals SET end_us = MAX(start_us, ?)"
            " WHERE service = ? AND end_us IS NULL", (at, change.service))
        await cursor.close()
        if change.after is not Priority.NONE:
            f = change.figures
            await db.execute(
                "INSERT INTO quality_intervals (service, priority, start_us, end_us, calls,"
                " poor_audio, dropped, detail) VALUES (?, ?, ?, NULL, ?, ?, ?, ?)",
                (change.service, int(change.after), at, f.calls, f.poor_audio, f.dropped,
                 f.describe()))
    if outbox and changes:
        await db.executemany(
            "INSERT INTO outbox (event_id, channel, kind, level, subject, at_us, payload)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)", [_outbox_row(c) for c in changes])


async def select(
    db: aiosqlite.Connection,
    *,
    service: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    open_only: bool = False,
) -> list[QualityRecord]:
    """Intervals overlapping [since, until), oldest first; open ones overlap all after their start."""
    clauses: list[str] = []
    params: list[Any] = []
    if service is not None:
        clauses.append("service = ?")
        params.append(service)
    if since is not None:
        clauses.append("(end_us IS NULL OR end_us > ?)")
        params.append(_us(since))
    if until is not None:
        clauses.append("start_us < ?")
        params.append(_us(until))
    if open_only:
        clauses.append("end_us IS NULL")
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = await db.execute_fetchall(
        f"SELECT {_COLUMNS} FROM quality_intervals{where} ORDER BY start_us, id", params)
    return [_record(row) for row in rows]
