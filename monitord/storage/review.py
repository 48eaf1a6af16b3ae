"""Incident review entries (SQLite schema 9, PostgreSQL 2): appended inside a commit, never changed.

Why a module of its own: reviews are an SLA manager's input, not monitoring
output; the writer and the readers delegate here. Both databases refuse
UPDATE and DELETE on the table (triggers in the migrations), so an entry
once written stays as written and a correction is a new entry. Times are
integer UTC microseconds, like every other table.
"""

from __future__ import annotations

import json

from monitord.storage.interface import ReviewAdd
from monitord.storage.records import ReviewRecord
from monitord.storage.timestamps import datetime_to_us, us_to_datetime
from monitord.storage.tx import Row, Tx, opt_dt, opt_us

COLUMNS = "id, at_us, who, service, action, targets, start_us, end_us, value, reason"


def record(row: Row) -> ReviewRecord:
    """A row of `SELECT {COLUMNS} FROM reviews`."""
    return ReviewRecord(
        id=row[0],
        at=us_to_datetime(row[1]),
        who=row[2],
        service=row[3],
        action=row[4],
        targets=tuple(json.loads(row[5])),
        start=opt_dt(row[6]),
        end=opt_dt(row[7]),
        value=row[8],
        reason=row[9],
    )


async def add(tx: Tx, entry: ReviewAdd) -> ReviewRecord:
    new_id = await tx.insert(
        "INSERT INTO reviews (at_us, who, service, action, targets, start_us, end_us, value,"
        " reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (datetime_to_us(entry.at), entry.who, entry.service, entry.action,
         json.dumps(list(entry.targets)), opt_us(entry.start), opt_us(entry.end), entry.value,
         entry.reason),
    )
    rows = await tx.fetch(f"SELECT {COLUMNS} FROM reviews WHERE id = ?", (new_id,))
    return record(rows[0])
