"""SQLite store: the embedded default backend, one file next to the daemon.

Durability: WAL journal with `synchronous=NORMAL`. When a commit returns it is
in the WAL file (in the OS page cache), so a crash or kill of the process
loses nothing that was committed: the failure a daemon meets most. Only a
power loss or OS crash can lose the last commits, never corrupt the file, and
what is lost goes as whole transactions: a snapshot with its intervals, a run's
last sign of life with them, so the restarted daemon sees an earlier, still
consistent state and a longer (honest) gap. `synchronous=FULL` would buy those
last commits with an fsync per state change of every check. WAL also lets the
API and report readers run while the daemon writes.

Timestamps are INTEGER microseconds since the Unix epoch, UTC. Integers are
exact (a float loses microseconds after 2^53 us, and text needs parsing and
one agreed format); they order, subtract and sum in SQL, which the overlap
queries and `closed_downtime_seconds` rely on. They come back as aware UTC
datetimes so nobody has to guess the zone of a disputed interval.

Every write runs in one `BEGIN IMMEDIATE` transaction: taking the write lock
up front means a concurrent reader process cannot make us fail halfway with
SQLITE_BUSY on a read-to-write upgrade. One asyncio lock serialises this
store's use of its single connection, because a transaction spans several
awaits and another coroutine's statement must not land inside it.

Schema changes are numbered SQL files in `monitord/migrations`, each applied
in its own transaction together with the new `PRAGMA user_version`, so a
failed migration leaves the previous schema intact.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self, assert_never

import aiosqlite

from monitord.core.events import (
    AlertRaised,
    AlertResolved,
    CheckEvent,
    CheckSnapshot,
    CheckState,
    DowntimeClosed,
    DowntimeOpened,
    EpisodeRecorded,
)
from monitord.errors import StorageError, StoreConflictError
from monitord.migrations import migrate
from monitord.storage import downtimes, eventlog, maintenance, outbox, quality
from monitord.storage.interface import (
    Batch,
    CheckCommit,
    CommitReceipt,
    EventCommit,
    GapCommit,
    MaintenanceAdd,
    MaintenanceDelete,
    QualityCommit,
    ServiceCommit,
)
from monitord.storage.lock import StoreLock
from monitord.storage.records import (
    DowntimeRecord,
    EpisodeRecord,
    EventRecord,
    GapRecord,
    Level,
    MaintenanceRecord,
    OutboxRecord,
    QualityRecord,
    RunRecord,
)
from monitord.storage.timestamps import datetime_to_us, us_to_datetime

__all__ = ["SqliteStore", "datetime_to_us", "us_to_datetime"]

_US_PER_SECOND = 1_000_000
_BUSY_TIMEOUT_SECONDS = 5.0


def _opt_us(value: datetime | None) -> int | None:
    return None if value is None else datetime_to_us(value)


def _opt_dt(value: int | None) -> datetime | None:
    return None if value is None else us_to_datetime(value)


def _failure(path: Path, what: str, exc: BaseException) -> StorageError:
    return StorageError(f"{what} failed on {path}: {exc}")


@asynccontextmanager
async def _transaction(
    db: aiosqlite.Connection, path: Path, what: str
) -> AsyncIterator[aiosqlite.Connection]:
    """All or nothing, even when the awaiting task is cancelled (daemon shutdown).

    aiosqlite runs statements on its own thread, so cancelling the task does
    not stop a BEGIN or an INSERT already queued there; the ROLLBACK issued on
    cancellation is queued behind them and always ends the transaction. A
    cancelled COMMIT still commits: the write happened, whole.
    """
    try:
        await db.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise _failure(path, what, exc) from exc
    except BaseException as exc:  # cancelled while BEGIN was queued or running
        await _rollback(db, exc)
        raise
    try:
        yield db
    except BaseException as exc:
        await _rollback(db, exc)
        if isinstance(exc, sqlite3.Error):
            raise _failure(path, what, exc) from exc
        raise
    try:
        await db.execute("COMMIT")
    except sqlite3.Error as exc:
        await _rollback(db, exc)
        raise _failure(path, what, exc) from exc


async def _rollback(db: aiosqlite.Connection, cause: BaseException) -> None:
    # Unconditional: `in_transaction` is read on our thread and may not yet
    # reflect statements still queued on aiosqlite's. Shielded, so a second
    # cancellation cannot leave the transaction open either.
    # The original error is the one worth reporting; a failed rollback only adds to it.
    try:
        await asyncio.shield(db.execute("ROLLBACK"))
    except sqlite3.OperationalError as exc:
        if "no transaction is active" not in str(exc):
            cause.add_note(f"rollback also failed: {exc}")
    except sqlite3.Error as exc:
        cause.add_note(f"rollback also failed: {exc}")


# --- the store ----------------------------------------------------------------


def _level(value: str) -> Level:
    if value == "check":
        return "check"
    if value == "service":
        return "service"
    raise StorageError(f"unknown downtime level {value!r} in the database")


def _overlap(since: datetime | None, until: datetime | None) -> tuple[list[str], list[Any]]:
    """SQL for "[start_us, end_us) overlaps [since, until)"; NULL end_us means still open.

    A zero-length interval overlaps when its instant lies in the window, so an
    interval closed at its own start is still found.
    """
    clauses: list[str] = []
    params: list[Any] = []
    if until is not None:
        clauses.append("start_us < ?")
        params.append(datetime_to_us(until))
    if since is not None:
        clauses.append("(end_us IS NULL OR end_us > ? OR start_us >= ?)")
        params += [datetime_to_us(since)] * 2
    return clauses, params


def _where(clauses: list[str]) -> str:
    return f" WHERE {' AND '.join(clauses)}" if clauses else ""


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

_DOWNTIME_COLUMNS = "id, level, name, start_us, end_us, reason, detail, confirmed_us, end_cause"


class SqliteStore:
    """`Store` on one SQLite file; see the module docstring for the durability choices."""

    def __init__(
        self,
        path: str | Path,
        *,
        heartbeat_grace_seconds: float = 0.0,
        outbox: bool = False,
        writer: bool = True,
    ) -> None:
        """`writer=False` opens for reading only (reports, the CLI): no single-writer lock."""
        if heartbeat_grace_seconds < 0:
            raise ValueError("heartbeat_grace_seconds cannot be negative")
        self._path = Path(path)
        self._lock_file = StoreLock(self._path) if writer else None
        # After a crash the daemon was alive for some time after its last
        # recorded sign of life (it heartbeats only every so often). The grace
        # is how much of that the operator agrees to count as monitored; the
        # default 0 claims nothing that the database cannot prove.
        self._grace_us = round(heartbeat_grace_seconds * _US_PER_SECOND)
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._run_id: int | None = None
        self._outbox = outbox  # write outbox rows (monitord/storage/outbox.py) for MQTT

    @property
    def path(self) -> Path:
        return self._path

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # --- lifecycle ------------------------------------------------------------

    async def open(self) -> None:
        if self._db is not None:
            return
        if self._lock_file is not None:
            self._prepare_files()
            self._lock_file.acquire()  # before anything is written
        try:
            self._db = await self._connect()
        except BaseException:
            if self._lock_file is not None:
                self._lock_file.release()
            raise

    def _prepare_files(self) -> None:
        """The record is private: directory 0700 when we create it, database files 0600."""
        parent = self._path.parent
        try:
            parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
            for f in (self._path, *(self._path.with_name(self._path.name + x)
                                    for x in ("-wal", "-shm"))):
                if f.exists() and f.stat().st_mode & 0o077:
                    f.chmod(0o600)
        except OSError as exc:
            raise StorageError(
                f"cannot create the database {self._path}: {exc.strerror}"
            ) from exc

    async def _connect(self) -> aiosqlite.Connection:
        pending = aiosqlite.connect(self._path, isolation_level=None, timeout=_BUSY_TIMEOUT_SECONDS)
        try:
            db = await pending
        except sqlite3.Error as exc:
            # aiosqlite stops its worker thread asynchronously after a failed connect;
            # let it finish while our loop still runs, or it reports into a closed loop.
            worker = getattr(pending, "_thread", None)
            if worker is not None:
                await asyncio.to_thread(worker.join, 5.0)
            raise _failure(self._path, "opening the database", exc) from exc
        try:
            await self._configure(db)
            await migrate(db, self._path)
        except BaseException:
            await db.close()
            raise
        return db

    async def close(self) -> None:
        db, self._db = self._db, None
        try:
            if db is None:
                return
            async with self._lock:
                try:
                    await db.close()
                except sqlite3.Error as exc:
                    raise _failure(self._path, "closing the database", exc) from exc
        finally:
            if self._lock_file is not None:
                self._lock_file.release()

    @staticmethod
    async def _set_wal(db: aiosqlite.Connection) -> list[Any]:
        # Changing the journal mode can fail with SQLITE_BUSY without consulting the
        # busy handler while another connection opens the same file: retry briefly.
        loop = asyncio.get_running_loop()
        give_up = loop.time() + _BUSY_TIMEOUT_SECONDS
        while True:
            try:
                return list(await db.execute_fetchall("PRAGMA journal_mode = WAL"))
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or loop.time() >= give_up:
                    raise
                await asyncio.sleep(0.02)

    async def _configure(self, db: aiosqlite.Connection) -> None:
        try:
            await db.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_SECONDS * 1000)}")
            rows = await self._set_wal(db)
            await db.execute("PRAGMA synchronous = NORMAL")
            await db.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise _failure(self._path, "opening the database", exc) from exc
        mode = str(rows[0][0]).lower()
        if mode not in ("wal", "memory"):
            raise StorageError(
                f"{self._path}: SQLite refused WAL journal mode (got {mode!r}); "
                "put the database on a local filesystem"
            )

    # --- helpers --------------------------------------------------------------

    def _connection(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StorageError(f"{self._path}: store is not open (call open() first)")
        return self._db

    @asynccontextmanager
    async def _write(self, what: str) -> AsyncIterator[aiosqlite.Connection]:
        db = self._connection()
        async with self._lock, _transaction(db, self._path, what):
            yield db

    async def _read(self, what: str, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        db = self._connection()
        async with self._lock:
            try:
                return list(await db.execute_fetchall(sql, params))
            except sqlite3.Error as exc:
                raise _failure(self._path, what, exc) from exc

    async def _insert(self, db: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> int:
        cursor = await db.execute(sql, params)
        rowid = cursor.lastrowid
        await cursor.close()
        if rowid is None:  # pragma: no cover - SQLite always reports it after an INSERT
            raise StorageError(f"{self._path}: insert reported no row id")
        return rowid

    async def _open_interval(
        self, db: aiosqlite.Connection, level: Level, name: str
    ) -> tuple[int, int] | None:
        return await downtimes.open_interval(db, level, name)

    async def _close_interval(
        self, db: aiosqlite.Connection, level: Level, name: str, end: datetime, cause: str
    ) -> None:
        await downtimes.close_interval(db, self._path, level, name, end, cause)

    async def _advance_last_seen(self, db: aiosqlite.Connection, at_us: int) -> None:
        if self._run_id is not None:
            await db.execute(
                "UPDATE runs SET last_seen_us = max(last_seen_us, ?) WHERE id = ?",
                (at_us, self._run_id),
            )

    def _require_run(self) -> int:
        if self._run_id is None:
            raise StorageError(f"{self._path}: start_run() was not called on this store")
        return self._run_id

    # --- runs and gaps --------------------------------------------------------

    async def start_run(self, now: datetime) -> GapRecord | None:
        """Open this run; the gap is measured from the latest run row, whichever process wrote it.

        The gap is written in the same transaction as the new run, so no restart
        can leave unmonitored time off the record.
        """
        now_us = datetime_to_us(now)
        gap: GapRecord | None = None
        async with self._write("recording the daemon start") as db:
            previous = list(
                await db.execute_fetchall(
                    "SELECT last_seen_us, stopped_us FROM runs ORDER BY id DESC LIMIT 1"
                )
            )
            run_id = await self._insert(
                db, "INSERT INTO runs (start_us, last_seen_us) VALUES (?, ?)", (now_us, now_us)
            )
            if previous:
                last_seen_us, stopped_us = int(previous[0][0]), previous[0][1]
                if stopped_us is None:
                    cause = "unclean_shutdown"
                    last_sign_us = last_seen_us + self._grace_us
                else:
                    cause = "clean_shutdown"
                    last_sign_us = max(last_seen_us, int(stopped_us))
                if now_us > last_sign_us:
                    gap_id = await self._insert(
                        db,
                        "INSERT INTO gaps (run_id, start_us, end_us, cause) VALUES (?, ?, ?, ?)",
                        (run_id, last_sign_us, now_us, cause),
                    )
                    gap = GapRecord(
                        gap_id, us_to_datetime(last_sign_us), us_to_datetime(now_us), cause
                    )
        self._run_id = run_id
        return gap

    async def runs(self) -> list[RunRecord]:
        rows = await self._read(
            "reading runs", "SELECT id, start_us, last_seen_us, stopped_us FROM runs ORDER BY id")
        return [RunRecord(r[0], us_to_datetime(r[1]), us_to_datetime(r[2]), _opt_dt(r[3]))
                for r in rows]

    async def heartbeat(self, now: datetime) -> None:
        run_id = self._require_run()
        async with self._write("recording a heartbeat") as db:
            await db.execute(
                "UPDATE runs SET last_seen_us = max(last_seen_us, ?) WHERE id = ?",
                (datetime_to_us(now), run_id),
            )

    async def stop_run(self, now: datetime) -> None:
        run_id = self._require_run()
        now_us = datetime_to_us(now)
        async with self._write("recording a clean shutdown") as db:
            await db.execute(
                "UPDATE runs SET stopped_us = ?, last_seen_us = max(last_seen_us, ?) WHERE id = ?",
                (now_us, now_us, run_id),
            )

    # --- the one commit ---------------------------------------------------------

    async def commit(self, batch: Batch) -> CommitReceipt:
        """Every entry, in order, in one transaction (see storage/interface.py)."""
        if not batch.entries and batch.last_seen is None:
            return CommitReceipt()
        maintenance_records: list[MaintenanceRecord | None] = []
        gaps: list[GapRecord] = []
        recorded = 0
        async with self._write(f"committing {len(batch.entries)} change(s)") as db:
            for entry in batch.entries:
                match entry:
                    case CheckCommit():
                        await self._commit_check(db, entry)
                    case ServiceCommit():
                        if self._outbox:
                            await outbox.add_service(db, entry.events)
                        await downtimes.commit_service(db, self._path, entry.events)
                    case QualityCommit():
                        await quality.commit(db, entry.changes, outbox=self._outbox)
                    case EventCommit():
                        for ev in entry.events:
                            ev = eventlog.keyed(ev)  # one id for the log and the outbox
                            if await eventlog.add(db, ev):
                                recorded += 1
                                if self._outbox:
                                    await outbox.add_standalone(db, ev)
                    case MaintenanceAdd():
                        maintenance_records.append(await maintenance.add(
                            db, service=entry.service, start=entry.start, end=entry.end,
                            kind=entry.kind, announced_at=entry.announced_at,
                            reason=entry.reason, now=entry.now))
                    case MaintenanceDelete():
                        maintenance_records.append(
                            await maintenance.delete(db, entry.window_id, entry.now))
                    case GapCommit():
                        gaps.append(await self._insert_gap(db, entry))
                    case _:
                        assert_never(entry)
            if batch.last_seen is not None:
                await self._advance_last_seen(db, datetime_to_us(batch.last_seen))
        return CommitReceipt(tuple(maintenance_records), recorded, gaps=tuple(gaps))

    async def _insert_gap(self, db: aiosqlite.Connection, gap: GapCommit) -> GapRecord:
        if gap.end <= gap.start:
            raise StoreConflictError(f"{self._path}: a gap must end ({gap.end}) after it starts")
        start_us, end_us = datetime_to_us(gap.start), datetime_to_us(gap.end)
        gap_id = await self._insert(
            db, "INSERT INTO gaps (run_id, start_us, end_us, cause) VALUES (?, ?, ?, ?)",
            (self._require_run(), start_us, end_us, gap.cause))
        return GapRecord(gap_id, gap.start, gap.end, gap.cause)

    # --- checks ---------------------------------------------------------------

    async def load_check_snapshots(self) -> dict[str, CheckSnapshot]:
        rows = await self._read(
            "loading check snapshots",
            "SELECT check_name, state, consecutive_failures, consecutive_successes,"
            " streak_start_us, streak_reason, streak_detail, downtime_start_us, last_probe_us,"
            " recovery_start_us"
            " FROM check_state ORDER BY check_name",
        )
        return {
            row[0]: CheckSnapshot(
                check=row[0],
                state=CheckState(row[1]),
                consecutive_failures=row[2],
                consecutive_successes=row[3],
                streak_start=_opt_dt(row[4]),
                streak_reason=row[5],
                streak_detail=row[6],
                downtime_start=_opt_dt(row[7]),
                last_probe=_opt_dt(row[8]),
                recovery_start=_opt_dt(row[9]),
            )
            for row in rows
        }

    async def _commit_check(self, db: aiosqlite.Connection, entry: CheckCommit) -> None:
        snapshot, events = entry.snapshot, entry.events
        params = (
            snapshot.check,
            snapshot.state.value,
            snapshot.consecutive_failures,
            snapshot.consecutive_successes,
            _opt_us(snapshot.streak_start),
            snapshot.streak_reason,
            snapshot.streak_detail,
            _opt_us(snapshot.downtime_start),
            _opt_us(snapshot.last_probe),
            _opt_us(snapshot.recovery_start),
        )
        if self._outbox:  # before the upsert: it compares with the stored state
            await outbox.add_check(db, snapshot, events)
        await db.execute(_UPSERT_SNAPSHOT, params)
        for event in events:
            await self._apply_check_event(db, snapshot.check, event)
        if snapshot.last_probe is not None:
            await self._advance_last_seen(db, datetime_to_us(snapshot.last_probe))

    async def _apply_check_event(
        self, db: aiosqlite.Connection, check: str, event: CheckEvent
    ) -> None:
        if event.check != check:
            raise StoreConflictError(
                f"{self._path}: {type(event).__name__} for check {event.check!r} was committed "
                f"with the snapshot of {check!r}; refusing the whole commit"
            )
        match event:
            case DowntimeOpened():
                existing = await self._open_interval(db, "check", check)
                if existing is not None:
                    raise StoreConflictError(
                        f"{self._path}: check {check!r} already has an open downtime "
                        f"(id {existing[0]}, since {us_to_datetime(existing[1])}); "
                        "refusing to open a second one"
                    )
                await db.execute(
                    "INSERT INTO downtimes (level, name, start_us, reason, detail, confirmed_us)"
                    " VALUES ('check', ?, ?, ?, ?, ?)",
                    (
                        check,
                        datetime_to_us(event.start),
                        event.reason,
                        event.detail,
                        datetime_to_us(event.confirmed_at),
                    ),
                )
            case DowntimeClosed():
                await self._close_interval(db, "check", check, event.end, event.cause)
            case EpisodeRecorded():
                await db.execute(
                    "INSERT INTO episodes (check_name, start_us, end_us, failures, reason, detail)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        check,
                        datetime_to_us(event.start),
                        datetime_to_us(event.end),
                        event.failures,
                        event.reason,
                        event.detail,
                    ),
                )
            case AlertRaised() | AlertResolved():
                pass  # for the sinks; the snapshot already holds the alert state
            case _:
                assert_never(event)

    # --- probes ---------------------------------------------------------------

    # --- queries --------------------------------------------------------------

    async def downtimes(
        self,
        *,
        level: Level | None = None,
        name: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[DowntimeRecord]:
        clauses, params = _overlap(since, until)
        if level is not None:
            clauses.append("level = ?")
            params.append(level)
        if name is not None:
            clauses.append("name = ?")
            params.append(name)
        rows = await self._read(
            "reading downtimes",
            f"SELECT {_DOWNTIME_COLUMNS} FROM downtimes{_where(clauses)} ORDER BY start_us, id",
            params,
        )
        return [
            DowntimeRecord(
                id=row[0],
                level=_level(row[1]),
                name=row[2],
                start=us_to_datetime(row[3]),
                end=_opt_dt(row[4]),
                reason=row[5],
                detail=row[6],
                confirmed_at=_opt_dt(row[7]),
                end_cause=row[8],
            )
            for row in rows
        ]

    async def episodes(
        self,
        *,
        check: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[EpisodeRecord]:
        clauses, params = _overlap(since, until)
        if check is not None:
            clauses.append("check_name = ?")
            params.append(check)
        rows = await self._read(
            "reading episodes",
            "SELECT id, check_name, start_us, end_us, failures, reason, detail"
            f" FROM episodes{_where(clauses)} ORDER BY start_us, id",
            params,
        )
        return [
            EpisodeRecord(row[0], row[1], us_to_datetime(row[2]), us_to_datetime(row[3]), *row[4:7])
            for row in rows
        ]

    async def gaps(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[GapRecord]:
        clauses, params = _overlap(since, until)
        rows = await self._read(
            "reading gaps",
            f"SELECT id, start_us, end_us, cause FROM gaps{_where(clauses)} ORDER BY start_us, id",
            params,
        )
        return [
            GapRecord(row[0], us_to_datetime(row[1]), us_to_datetime(row[2]), row[3])
            for row in rows
        ]

    async def outbox_pending(self, limit: int) -> list[OutboxRecord]:
        db = self._connection()
        async with self._lock:
            try:
                return await outbox.pending(db, limit)
            except sqlite3.Error as exc:
                raise _failure(self._path, "reading the outbox", exc) from exc

    async def outbox_done(self, up_to_seq: int) -> int:
        async with self._write("dropping delivered outbox rows") as db:
            return await outbox.done(db, up_to_seq)

    async def outbox_count(self) -> int:
        rows = await self._read("counting the outbox", "SELECT COUNT(*) FROM outbox")
        return int(rows[0][0])

    async def events(
        self,
        *,
        kind: str | None = None,
        subject: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[EventRecord]:
        db = self._connection()
        async with self._lock:
            try:
                return await eventlog.query(
                    db, kind=kind, subject=subject, since=since, until=until
                )
            except sqlite3.Error as exc:
                raise _failure(self._path, "reading events", exc) from exc

    # --- maintenance windows (schema 3, monitord/storage/maintenance.py) ---------

    async def maintenance_windows(
        self,
        *,
        service: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        include_deleted: bool = False,
    ) -> list[MaintenanceRecord]:
        db = self._connection()
        async with self._lock:
            try:
                return await maintenance.select(
                    db, service=service, since=since, until=until, include_deleted=include_deleted
                )
            except sqlite3.Error as exc:
                raise _failure(self._path, "reading maintenance windows", exc) from exc

    # --- call-quality intervals (schema 4, monitord/storage/quality.py) ----------

    async def quality_intervals(
        self,
        *,
        service: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        open_only: bool = False,
    ) -> list[QualityRecord]:
        db = self._connection()
        async with self._lock:
            try:
                return await quality.select(
                    db, service=service, since=since, until=until, open_only=open_only
                )
            except sqlite3.Error as exc:
                raise _failure(self._path, "reading call-quality intervals", exc) from exc

    async def closed_downtime_seconds(self) -> dict[tuple[Level, str], float]:
        rows = await self._read(
            "summing closed downtime",
            "SELECT level, name, SUM(end_us - start_us) FROM downtimes"
            " WHERE end_us IS NOT NULL GROUP BY level, name",
        )
        return {(_level(row[0]), row[1]): row[2] / _US_PER_SECOND for row in rows}
