"""The writer's side of every SQL backend: runs and gaps, and the one commit.

See `interface.py` for the rules; this is them, in SQL both backends accept.
Each method is one unit of work handed to the backend's `_write`, so it runs
in one transaction and a refusal (`StoreConflictError`) leaves nothing behind.
"""

from __future__ import annotations

from datetime import datetime
from typing import assert_never

from monitord.core.events import (
    AlertRaised,
    AlertResolved,
    CheckEvent,
    DowntimeClosed,
    DowntimeOpened,
    EpisodeRecorded,
)
from monitord.errors import StorageError, StoreConflictError
from monitord.storage import downtimes, eventlog, maintenance, outbox, quality, review
from monitord.storage.backend import SqlBackend
from monitord.storage.interface import (
    Batch,
    CheckCommit,
    CommitReceipt,
    EventCommit,
    GapCommit,
    MaintenanceAdd,
    MaintenanceDelete,
    QualityCommit,
    ReviewAdd,
    ServiceCommit,
)
from monitord.storage.records import GapRecord, MaintenanceRecord, ReviewRecord
from monitord.storage.timestamps import datetime_to_us, us_to_datetime
from monitord.storage.tx import Tx, opt_us

__all__ = ["SqlWriter"]

_UPSERT_SNAPSHOT = """
INSERT INTO check_state (
    check_name, state, consecutive_failures, consecutive_successes, streak_start_us,
    streak_reason, streak_detail, downtime_start_us, last_probe_us, recovery_start_us
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (check_name) DO UPDATE SET
    state = excluded.state,
    consecutive_failures = excluded.consecutive_failures,
    consecutive_successes = excluded.consecutive_successes,
    streak_start_us = excluded.streak_start_us,
    streak_reason = excluded.streak_reason,
    streak_detail = excluded.streak_detail,
    downtime_start_us = excluded.downtime_start_us,
    last_probe_us = excluded.last_probe_us,
    recovery_start_us = excluded.recovery_start_us
"""

_INSERT_GAP = "INSERT INTO gaps (run_id, start_us, end_us, cause) VALUES (?, ?, ?, ?)"


class SqlWriter(SqlBackend):
    """`StoreWriter` minus the lifecycle, which each backend brings."""

    def _require_run(self) -> int:
        if self._run_id is None:
            raise StorageError(f"{self._where}: start_run() was not called on this store")
        return self._run_id

    async def _advance_last_seen(self, tx: Tx, run_id: int | None, at: datetime) -> None:
        if run_id is not None:  # never moves back
            at_us = datetime_to_us(at)
            await tx.execute(
                "UPDATE runs SET last_seen_us = ? WHERE id = ? AND last_seen_us < ?",
                (at_us, run_id, at_us),
            )

    # --- runs and gaps --------------------------------------------------------

    async def start_run(self, now: datetime) -> GapRecord | None:
        """Open this run; the gap is measured from the latest run row, whichever process wrote it.

        The gap is written in the same transaction as the new run, so no restart
        can leave unmonitored time off the record.
        """
        now_us = datetime_to_us(now)

        async def work(tx: Tx) -> tuple[int, GapRecord | None]:
            previous = await tx.fetch(
                "SELECT last_seen_us, stopped_us FROM runs ORDER BY id DESC LIMIT 1")
            run_id = await tx.insert(
                "INSERT INTO runs (start_us, last_seen_us) VALUES (?, ?)", (now_us, now_us))
            if not previous:
                return run_id, None
            last_seen_us, stopped_us = int(previous[0][0]), previous[0][1]
            if stopped_us is None:
                cause = "unclean_shutdown"
                last_sign_us = last_seen_us + self._grace_us
            else:
                cause = "clean_shutdown"
                last_sign_us = max(last_seen_us, int(stopped_us))
            if now_us <= last_sign_us:
                return run_id, None
            gap_id = await tx.insert(_INSERT_GAP, (run_id, last_sign_us, now_us, cause))
            return run_id, GapRecord(
                gap_id, us_to_datetime(last_sign_us), us_to_datetime(now_us), cause)

        self._run_id, gap = await self._write("recording the daemon start", work)
        return gap

    async def heartbeat(self, now: datetime) -> None:
        run_id = self._require_run()

        async def work(tx: Tx) -> None:
            await self._advance_last_seen(tx, run_id, now)

        await self._write("recording a heartbeat", work)

    async def stop_run(self, now: datetime) -> None:
        run_id = self._require_run()
        now_us = datetime_to_us(now)

        async def work(tx: Tx) -> None:
            await tx.execute(
                "UPDATE runs SET stopped_us = ?, last_seen_us ="
                " CASE WHEN last_seen_us < ? THEN ? ELSE last_seen_us END WHERE id = ?",
                (now_us, now_us, now_us, run_id),
            )

        await self._write("recording a clean shutdown", work)

    # --- the one commit -------------------------------------------------------

    async def commit(self, batch: Batch) -> CommitReceipt:
        """Every entry, in order, in one transaction (see storage/interface.py)."""
        if not batch.entries and batch.last_seen is None:
            return CommitReceipt()

        async def work(tx: Tx) -> CommitReceipt:
            return await self._apply(tx, batch)

        return await self._write(f"committing {len(batch.entries)} change(s)", work)

    async def _apply(self, tx: Tx, batch: Batch) -> CommitReceipt:
        windows: list[MaintenanceRecord | None] = []
        gaps: list[GapRecord] = []
        reviews: list[ReviewRecord] = []
        recorded = 0
        for entry in batch.entries:
            match entry:
                case CheckCommit():
                    await self._commit_check(tx, entry)
                case ServiceCommit():
                    if self._outbox:
                        await outbox.add_service(tx, entry.events)
                    await downtimes.commit_service(tx, self._where, entry.events)
                case QualityCommit():
                    await quality.commit(tx, entry.changes, outbox=self._outbox)
                case EventCommit():
                    for ev in entry.events:
                        ev = eventlog.keyed(ev)  # one id for the log and the outbox
                        if await eventlog.add(tx, ev):
                            recorded += 1
                            if self._outbox:
                                await outbox.add_standalone(tx, ev)
                case MaintenanceAdd():
                    windows.append(await maintenance.add(
                        tx, service=entry.service, start=entry.start, end=entry.end,
                        kind=entry.kind, announced_at=entry.announced_at,
                        reason=entry.reason, now=entry.now))
                case MaintenanceDelete():
                    windows.append(await maintenance.delete(tx, entry.window_id, entry.now))
                case GapCommit():
                    gaps.append(await self._insert_gap(tx, entry))
                case ReviewAdd():  # incident review (monitord/storage/review.py)
                    reviews.append(await review.add(tx, entry))
                case _:
                    assert_never(entry)
        if batch.last_seen is not None:
            await self._advance_last_seen(tx, self._run_id, batch.last_seen)
        return CommitReceipt(tuple(windows), recorded, gaps=tuple(gaps), reviews=tuple(reviews))

    async def _insert_gap(self, tx: Tx, gap: GapCommit) -> GapRecord:
        if gap.end <= gap.start:
            raise StoreConflictError(f"{self._where}: a gap must end ({gap.end}) after it starts")
        gap_id = await tx.insert(_INSERT_GAP, (
            self._require_run(), datetime_to_us(gap.start), datetime_to_us(gap.end), gap.cause))
        return GapRecord(gap_id, gap.start, gap.end, gap.cause)

    # --- checks ---------------------------------------------------------------

    async def _commit_check(self, tx: Tx, entry: CheckCommit) -> None:
        snapshot, events = entry.snapshot, entry.events
        params = (
            snapshot.check,
            snapshot.state.value,
            snapshot.consecutive_failures,
            snapshot.consecutive_successes,
            opt_us(snapshot.streak_start),
            snapshot.streak_reason,
            snapshot.streak_detail,
            opt_us(snapshot.downtime_start),
            opt_us(snapshot.last_probe),
            opt_us(snapshot.recovery_start),
        )
        if self._outbox:  # before the upsert: it compares with the stored state
            await outbox.add_check(tx, snapshot, events)
        await tx.execute(_UPSERT_SNAPSHOT, params)
        for event in events:
            await self._apply_check_event(tx, snapshot.check, event)
        if snapshot.last_probe is not None:
            await self._advance_last_seen(tx, self._run_id, snapshot.last_probe)

    async def _apply_check_event(self, tx: Tx, check: str, event: CheckEvent) -> None:
        if event.check != check:
            raise StoreConflictError(
                f"{self._where}: {type(event).__name__} for check {event.check!r} was committed "
                f"with the snapshot of {check!r}; refusing the whole commit"
            )
        match event:
            case DowntimeOpened():
                await downtimes.open_check(tx, self._where, event)
            case DowntimeClosed():
                await downtimes.close_interval(tx, self._where, "check", check, event.end,
                                               event.cause)
            case EpisodeRecorded():
                await tx.execute(
                    "INSERT INTO episodes (check_name, start_us, end_us, failures, reason, detail)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (check, datetime_to_us(event.start), datetime_to_us(event.end),
                     event.failures, event.reason, event.detail),
                )
            case AlertRaised() | AlertResolved():
                pass  # for the sinks; the snapshot already holds the alert state
            case _:
                assert_never(event)
