"""Call-quality intervals (schema 4, `0004_quality.sql`): written inside a commit.

Why a module of its own: a degraded service is not a down service, so these
rows live beside the downtime tables, never in them, and the writer
delegates here so its file stays about availability. A change closes the
service's open interval and opens one for the new priority in the same
transaction; with the outbox on, the change is announced from that
transaction too (kind `quality_changed`, level `service`), so MQTT never
tells of a change that was not recorded.
"""

from __future__ import annotations

from collections.abc import Sequence

from monitord.core.callquality import Priority, QualityChange
from monitord.storage import outbox as outbox_rows
from monitord.storage.records import QualityRecord
from monitord.storage.timestamps import datetime_to_us, us_to_datetime
from monitord.storage.tx import Row, Tx, opt_dt

__all__ = ["COLUMNS", "commit", "record"]

COLUMNS = "id, service, priority, start_us, end_us, calls, poor_audio, dropped, detail"


def record(row: Row) -> QualityRecord:
    """A row of `SELECT {COLUMNS} FROM quality_intervals`."""
    return QualityRecord(
        id=row[0], service=row[1], priority=Priority(row[2]), start=us_to_datetime(row[3]),
        end=opt_dt(row[4]),
        calls=row[5], poor_audio=row[6], dropped=row[7], detail=row[8],
    )


def _announcement(change: QualityChange) -> outbox_rows.NewRow:
    f = change.figures
    body = {"service": change.service, "from_priority": change.before.label,
            "to_priority": change.after.label,
            "calls": f.calls, "poor_audio": f.poor_audio, "dropped": f.dropped,
            "poor_audio_share": f.poor_audio_share, "dropped_share": f.dropped_share}
    return outbox_rows.NewRow("event", "quality_changed", "service", change.service, change.at,
                              body)


async def commit(tx: Tx, changes: Sequence[QualityChange], *, outbox: bool) -> None:
    """Apply changes in order inside the caller's transaction."""
    for change in changes:
        at = datetime_to_us(change.at)
        await tx.execute(
            "UPDATE quality_intervals SET end_us = CASE WHEN start_us > ? THEN start_us ELSE ? END"
            " WHERE service = ? AND end_us IS NULL", (at, at, change.service))
        if change.after is not Priority.NONE:
            f = change.figures
            await tx.execute(
                "INSERT INTO quality_intervals (service, priority, start_us, end_us, calls,"
                " poor_audio, dropped, detail) VALUES (?, ?, ?, NULL, ?, ?, ?, ?)",
                (change.service, int(change.after), at, f.calls, f.poor_audio, f.dropped,
                 f.describe()))
    if outbox:
        await outbox_rows.add(tx, [_announcement(c) for c in changes])
