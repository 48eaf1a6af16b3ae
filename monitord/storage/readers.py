"""The readers' side of every SQL backend: what the API, the SLA engine and reports query,
and the relay's side of the outbox.

Every query is one unit of work handed to the backend's `_read` (the one read
wrapper: its lock, its error translation), with its WHERE clause built by
`tx.Filter` (the one interval-overlap rule).
"""

from __future__ import annotations

from datetime import datetime

from monitord.core.events import CheckSnapshot, CheckState
from monitord.storage import eventlog, maintenance, quality, review
from monitord.storage.backend import SqlBackend
from monitord.storage.records import (
    DowntimeRecord,
    EpisodeRecord,
    EventRecord,
    GapRecord,
    Level,
    MaintenanceRecord,
    OutboxRecord,
    QualityRecord,
    ReviewRecord,
    RunRecord,
)
from monitord.storage.timestamps import us_to_datetime
from monitord.storage.tx import Filter, Row, Tx, level_of, opt_dt

__all__ = ["SqlReaders"]

_US_PER_SECOND = 1_000_000


def _snapshot(row: Row) -> CheckSnapshot:
    return CheckSnapshot(
        check=row[0],
        state=CheckState(row[1]),
        consecutive_failures=row[2],
        consecutive_successes=row[3],
        streak_start=opt_dt(row[4]),
        streak_reason=row[5],
        streak_detail=row[6],
        downtime_start=opt_dt(row[7]),
        last_probe=opt_dt(row[8]),
        recovery_start=opt_dt(row[9]),
    )


def _downtime(row: Row) -> DowntimeRecord:
    return DowntimeRecord(
        id=row[0],
        level=level_of(row[1]),
        name=row[2],
        start=us_to_datetime(row[3]),
        end=opt_dt(row[4]),
        reason=row[5],
        detail=row[6],
        confirmed_at=opt_dt(row[7]),
        end_cause=row[8],
    )


def _episode(row: Row) -> EpisodeRecord:
    return EpisodeRecord(row[0], row[1], us_to_datetime(row[2]), us_to_datetime(row[3]),
                         row[4], row[5], row[6])


def _outbox(r: Row) -> OutboxRecord:
    return OutboxRecord(r[0], r[1], r[2], r[3], r[4], r[5], us_to_datetime(r[6]), r[7])


class SqlReaders(SqlBackend):
    """`StoreReader` and `OutboxQueue` for every SQL backend."""

    async def _select(self, what: str, sql: str, where: Filter | None = None,
                      order: str = "start_us, id") -> list[Row]:
        """`sql` is a SELECT ... FROM; the filter and the order follow it."""
        where = where or Filter()
        sql = f"{sql}{where.sql} ORDER BY {order}" if order else f"{sql}{where.sql}"

        async def work(tx: Tx) -> list[Row]:
            return await tx.fetch(sql, where.params)

        return await self._read(what, work)

    async def load_check_snapshots(self) -> dict[str, CheckSnapshot]:
        rows = await self._select(
            "loading check snapshots",
            "SELECT check_name, state, consecutive_failures, consecutive_successes,"
            " streak_start_us, streak_reason, streak_detail, downtime_start_us, last_probe_us,"
            " recovery_start_us FROM check_state", order="check_name")
        return {row[0]: _snapshot(row) for row in rows}

    async def downtimes(
        self,
        *,
        level: Level | None = None,
        name: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[DowntimeRecord]:
        where = Filter().overlapping(since, until).equal("level", level).equal("name", name)
        rows = await self._select(
            "reading downtimes",
            "SELECT id, level, name, start_us, end_us, reason, detail, confirmed_us, end_cause"
            " FROM downtimes",
            where)
        return [_downtime(row) for row in rows]

    async def episodes(
        self, *, check: str | None = None, since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[EpisodeRecord]:
        where = Filter().overlapping(since, until).equal("check_name", check)
        rows = await self._select(
            "reading episodes",
            "SELECT id, check_name, start_us, end_us, failures, reason, detail FROM episodes",
            where)
        return [_episode(row) for row in rows]

    async def gaps(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[GapRecord]:
        rows = await self._select("reading gaps", "SELECT id, start_us, end_us, cause FROM gaps",
                                  Filter().overlapping(since, until))
        return [GapRecord(r[0], us_to_datetime(r[1]), us_to_datetime(r[2]), r[3]) for r in rows]

    async def runs(self) -> list[RunRecord]:
        rows = await self._select(
            "reading runs", "SELECT id, start_us, last_seen_us, stopped_us FROM runs", order="id")
        return [RunRecord(r[0], us_to_datetime(r[1]), us_to_datetime(r[2]), opt_dt(r[3]))
                for r in rows]

    async def closed_downtime_seconds(self) -> dict[tuple[Level, str], float]:
        rows = await self._select(
            "summing closed downtime",
            "SELECT level, name, CAST(SUM(end_us - start_us) AS BIGINT) FROM downtimes"
            " WHERE end_us IS NOT NULL GROUP BY level, name", order="")
        return {(level_of(r[0]), r[1]): int(r[2]) / _US_PER_SECOND for r in rows}

    async def events(
        self,
        *,
        kind: str | None = None,
        subject: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[EventRecord]:
        where = (Filter().equal("kind", kind).equal("subject", subject)
                 .overlapping(since, until, start="at_us", end="at_us"))
        rows = await self._select("reading events", f"SELECT {eventlog.COLUMNS} FROM events",
                                  where, order="at_us, id")
        return [eventlog.record(r) for r in rows]

    async def maintenance_windows(
        self, *, service: str | None = None, since: datetime | None = None,
        until: datetime | None = None, include_deleted: bool = False,
    ) -> list[MaintenanceRecord]:
        where = Filter().equal("service", service).overlapping(since, until)
        rows = await self._select(
            "reading maintenance windows",
            f"SELECT {maintenance.COLUMNS} FROM maintenance_windows",
            where if include_deleted else where.holds("deleted_us IS NULL"))
        return [maintenance.record(r) for r in rows]

    async def quality_intervals(
        self, *, service: str | None = None, since: datetime | None = None,
        until: datetime | None = None, open_only: bool = False,
    ) -> list[QualityRecord]:
        where = Filter().equal("service", service).overlapping(since, until)
        rows = await self._select(
            "reading call-quality intervals", f"SELECT {quality.COLUMNS} FROM quality_intervals",
            where.holds("end_us IS NULL") if open_only else where)
        return [quality.record(r) for r in rows]

    async def reviews(self, *, service: str | None = None) -> list[ReviewRecord]:
        rows = await self._select("reading reviews", f"SELECT {review.COLUMNS} FROM reviews",
                                  Filter().equal("service", service), order="id")
        return [review.record(r) for r in rows]

    # --- the outbox queue -----------------------------------------------------

    async def outbox_pending(self, limit: int) -> list[OutboxRecord]:
        async def work(tx: Tx) -> list[Row]:
            return await tx.fetch(
                "SELECT seq, event_id, channel, kind, level, subject, at_us, payload FROM outbox"
                " ORDER BY seq LIMIT ?", (limit,))

        return [_outbox(r) for r in await self._read("reading the outbox", work)]

    async def outbox_done(self, up_to_seq: int) -> int:
        async def work(tx: Tx) -> int:
            return await tx.execute("DELETE FROM outbox WHERE seq <= ?", (up_to_seq,))

        return await self._write("dropping delivered outbox rows", work)

    async def outbox_count(self) -> int:
        rows = await self._select("counting the outbox", "SELECT COUNT(*) FROM outbox", order="")
        return int(rows[0][0])
