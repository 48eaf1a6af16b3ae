"""Downtime intervals in SQLite: the open/close primitives and the service merge rules.

Why a module of its own: the service rules are the subtlest arithmetic the
store does. Check intervals are backdated to their first failed probe and
confirmed later, so the service tracker (monitord/core/services.py) may tell the
store that an outage began earlier than recorded, or that a past stretch was
down; these functions fold that into the record so one problem is one
interval (XTIUM §1: counted once), and never close an ongoing outage by
accident. All of them run inside the caller's write transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import assert_never

import aiosqlite

from monitord.core.events import (
    ServiceDowntimeClosed,
    ServiceDowntimeOpened,
    ServiceDowntimeRecorded,
    ServiceEvent,
)
from monitord.errors import StoreConflictError
from monitord.storage.records import Level
from monitord.storage.timestamps import datetime_to_us, us_to_datetime


async def open_interval(
    db: aiosqlite.Connection, level: Level, name: str
) -> tuple[int, int] | None:
    rows = list(
        await db.execute_fetchall(
            "SELECT id, start_us FROM downtimes WHERE level = ? AND name = ? AND end_us IS NULL",
            (level, name),
        )
    )
    return (int(rows[0][0]), int(rows[0][1])) if rows else None


async def close_interval(
    db: aiosqlite.Connection, path: Path, level: Level, name: str, end: datetime,
    cause: str = "recovered",
) -> None:
    end_us = datetime_to_us(end)
    current = await open_interval(db, level, name)
    if current is None:
        raise StoreConflictError(
            f"{path}: no open {level} downtime for {name!r} to close at {end}; "
            "refusing the whole commit"
        )
    interval_id, start_us = current
    if end_us < start_us:
        raise StoreConflictError(
            f"{path}: {level} downtime {interval_id} of {name!r} starts at "
            f"{us_to_datetime(start_us)} and cannot end earlier, at {end}"
        )
    await db.execute("UPDATE downtimes SET end_us = ?, end_cause = ? WHERE id = ?",
                     (end_us, cause, interval_id))


async def commit_service(
    db: aiosqlite.Connection, path: Path, events: Sequence[ServiceEvent]
) -> None:
    """Opening is idempotent (a replay after restart is harmless) and may move an
    open interval's start back; a recorded past interval folds in only what it
    touches; closing with nothing open is refused, as it means the tracker and
    the record disagree."""
    for event in events:
        match event:
            case ServiceDowntimeRecorded():
                await _record_past(db, event)
            case ServiceDowntimeOpened():
                await _open(db, event)
            case ServiceDowntimeClosed():
                await close_interval(db, path, "service", event.service, event.end, event.cause)
            case _:
                assert_never(event)


async def _record_past(db: aiosqlite.Connection, event: ServiceDowntimeRecorded) -> None:
    """A stretch of service downtime revealed after it ended (a late, backdated
    check confirmation). It folds into the recorded intervals it touches; an
    open interval it does not reach is left exactly as it is."""
    start_us, end_us = datetime_to_us(event.start), datetime_to_us(event.end)
    current = await open_interval(db, "service", event.service)
    if current is not None and current[1] <= end_us:  # reaches the ongoing outage: one problem
        await _open(db, ServiceDowntimeOpened(event.service, event.start, event.reason, event.detail))
        return
    rows = list(
        await db.execute_fetchall(
            "SELECT id, start_us, end_us FROM downtimes WHERE level = 'service' AND name = ?"
            " AND end_us IS NOT NULL AND end_us >= ? AND start_us <= ? ORDER BY start_us, id",
            (event.service, start_us, end_us),
        )
    )
    if not rows:
        await db.execute(
            "INSERT INTO downtimes (level, name, start_us, end_us, reason, detail, end_cause)"
            " VALUES ('service', ?, ?, ?, ?, ?, 'recovered')",
            (event.service, start_us, end_us, event.reason, event.detail),
        )
        return
    keep = int(rows[0][0])
    lo = min(start_us, *(int(r[1]) for r in rows))
    hi = max(end_us, *(int(r[2]) for r in rows))
    await db.executemany("DELETE FROM downtimes WHERE id = ?", [(r[0],) for r in rows[1:]])
    await db.execute("UPDATE downtimes SET start_us = ?, end_us = ?, end_cause = 'recovered'"
                     " WHERE id = ?", (lo, hi, keep))


async def _open(db: aiosqlite.Connection, event: ServiceDowntimeOpened) -> None:
    """Open, or widen, the service's interval so it covers [event.start, now).

    Check intervals are backdated to their first failed probe, so a check
    confirmed later can reveal that the service went down earlier than
    recorded: the open interval's start moves back (never forward), and
    recorded intervals that touch the widened span are one problem with it
    and are folded in (XTIUM §1: counted once).
    """
    start_us = datetime_to_us(event.start)
    current = await open_interval(db, "service", event.service)
    touching = list(
        await db.execute_fetchall(
            "SELECT id, start_us FROM downtimes"
            " WHERE level = 'service' AND name = ? AND end_us IS NOT NULL AND end_us >= ?"
            " ORDER BY start_us, id",
            (event.service, start_us),
        )
    )
    if current is None and not touching:
        await db.execute(
            "INSERT INTO downtimes (level, name, start_us, reason, detail)"
            " VALUES ('service', ?, ?, ?, ?)",
            (event.service, start_us, event.reason, event.detail),
        )
        return
    if current is None:
        # The service fell again before (or as) the last interval ended: one problem,
        # so the earliest touching interval resumes with its reason and evidence.
        keep_id, keep_start = int(touching[0][0]), int(touching[0][1])
        touching = touching[1:]
    else:
        keep_id, keep_start = current
    new_start = min([start_us, keep_start, *(int(r[1]) for r in touching)])
    if touching:
        await db.executemany("DELETE FROM downtimes WHERE id = ?", [(r[0],) for r in touching])
    if start_us < keep_start:
        await db.execute(
            "UPDATE downtimes SET start_us = ?, end_us = NULL, end_cause = NULL, reason = ?,"
            " detail = ? WHERE id = ?",
            (new_start, event.reason, event.detail, keep_id),
        )
    else:
        await db.execute(
            "UPDATE downtimes SET start_us = ?, end_us = NULL, end_cause = NULL WHERE id = ?",
            (new_start, keep_id),
        )
