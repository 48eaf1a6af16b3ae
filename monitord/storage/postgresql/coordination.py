"""The fleet's shared tables (schema `fleet`, 0002_fleet.sql): members, units, tenures.

Why here: this is coordination, not monitoring facts. The rules it applies
are decided by the pure cores (monitord/fleet/assignment.py, membership.py);
this module makes each decision one transaction:

- a heartbeat bumps the agent's `beat` (its sign of life for the others);
- a claim is a compare-and-set on the unit's fencing token, which it raises;
  in the same transaction the previous holder's tenure is closed (at its last
  sign of life when it died), the new tenure opens, and the state the taker
  resumes from is read: it is final, because every evidence write checks the
  token under a share lock that the claim's update waits for;
- a release (hand-over, clean stop) lets the unit go without raising the
  token and closes the tenure at once, so a taker need not wait for a lease.

Each location's evidence lives in a schema of its own (`fleet.locations`);
`location_schema` creates it on first use.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from monitord.core.events import CheckSnapshot
from monitord.errors import StorageError
from monitord.fleet.assignment import Claim, Holding
from monitord.fleet.membership import MemberRow
from monitord.storage.postgresql.lock import REGISTRATION_LOCK
from monitord.storage.postgresql.store import PostgresStore
from monitord.storage.readers import _snapshot
from monitord.storage.records import EvidenceRecord, Level
from monitord.storage.timestamps import datetime_to_us, us_to_datetime
from monitord.storage.tx import Filter, Row, Tx, level_of, opt_dt, opt_us

__all__ = [
    "FleetDb",
    "Handover",
    "Member",
    "Tenure",
    "location_intervals",
    "mark_dirty",
    "quoted",
    "schema_for",
    "with_schema",
]

_PLAIN = re.compile(r"^[a-z0-9_]{1,40}$")


def schema_for(location: str) -> str:
    """The schema a location's evidence lives in: readable when the name allows it."""
    if _PLAIN.match(location):
        return f"loc_{location}"
    return "loc_" + hashlib.sha256(location.encode()).hexdigest()[:16]


def quoted(schema: str) -> str:
    if not re.fullmatch(r"[a-z0-9_]{1,63}", schema):
        raise ValueError(f"not a schema monitord made: {schema!r}")
    return f'"{schema}"'


def with_schema(url: str, schema: str) -> str:
    """`url` with its sessions' search_path set to `schema` (asyncpg passes it to the server)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "search_path"]
    query.append(("search_path", schema))
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass(frozen=True, slots=True)
class Member:
    location: str
    row: MemberRow
    seen: datetime  # the agent's own clock at its last beat
    started: datetime
    through: datetime | None = None  # its evidence is complete up to here


@dataclass(frozen=True, slots=True)
class Tenure:
    """One holder's time on a unit at a location; `until` None while it holds it."""

    location: str
    unit: str
    token: int
    agent: str
    since: datetime
    until: datetime | None
    from_agent: str | None
    end_cause: str | None


@dataclass(frozen=True, slots=True)
class Handover:
    """What a taker resumes from: the location's last recorded state of the unit."""

    token: int
    snapshots: Mapping[str, CheckSnapshot]
    open_services: Mapping[str, datetime]
    previous: str | None
    last_seen: datetime | None  # the previous holder's last sign of life, if it died


def _tenure(r: Row) -> Tenure:
    return Tenure(str(r[0]), str(r[1]), int(r[2]), str(r[3]), us_to_datetime(r[4]),
                  opt_dt(r[5]), r[6], r[7])


_TENURE_COLUMNS = "location, unit, token, agent, since_us, until_us, from_agent, end_cause"


class FleetDb(PostgresStore):
    """The fleet tables on the judged record's database (no writer lock: every agent uses it)."""

    def __init__(self, url: str, *, password: str | None = None,
                 connect_timeout: float = 5.0, command_timeout: float = 10.0) -> None:
        super().__init__(url, password=password, writer=False, connect_timeout=connect_timeout,
                         command_timeout=command_timeout)

    async def location_schema(self, location: str) -> str:
        """The schema of `location`'s evidence, made (registered, migrated) on first use."""
        schema = await self._register(location)
        record = PostgresStore(with_schema(self._url, schema), password=self._password,
                               writer=False)
        await record.open()  # creates or migrates its tables
        await record.close()
        return schema

    async def _register(self, location: str) -> str:
        """Agents of a new location start together: PostgreSQL's `CREATE SCHEMA IF NOT
        EXISTS` is not safe against a concurrent twin (the loser fails on the catalog's
        unique index), so registrations take turns under a transaction-scoped lock, and
        the one that waited finds the location registered."""
        async def work(tx: Tx) -> str:
            await tx.fetch("SELECT pg_advisory_xact_lock(?)", (REGISTRATION_LOCK,))
            rows = await tx.fetch("SELECT schema_name FROM fleet.locations WHERE location = ?",
                                  (location,))
            if rows:
                return str(rows[0][0])
            schema = schema_for(location)
            await tx.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted(schema)}")
            await tx.execute("INSERT INTO fleet.locations (location, schema_name) VALUES (?, ?)"
                             " ON CONFLICT (location) DO NOTHING", (location, schema))
            return schema

        return await self._write(f"registering location {location!r}", work)

    async def schemas(self) -> dict[str, str]:
        async def work(tx: Tx) -> dict[str, str]:
            rows = await tx.fetch("SELECT location, schema_name FROM fleet.locations")
            return {str(r[0]): str(r[1]) for r in rows}

        return await self._read("reading the fleet's locations", work)

    # --- membership -------------------------------------------------------------

    async def beat(self, location: str, agent: str, now: datetime, started: datetime,
                   through: datetime | None) -> None:
        """Our sign of life; `through`: our evidence is complete up to then (None: unchanged)."""
        now_us = datetime_to_us(now)

        async def work(tx: Tx) -> None:
            await tx.execute(
                "INSERT INTO fleet.members (location, agent, beat, seen_us, started_us,"
                " through_us) VALUES (?, ?, 1, ?, ?, ?) ON CONFLICT (location, agent) DO UPDATE"
                " SET beat = fleet.members.beat + 1, seen_us = excluded.seen_us,"
                " started_us = excluded.started_us, left_us = NULL,"
                " through_us = COALESCE(excluded.through_us, fleet.members.through_us)",
                (location, agent, now_us, datetime_to_us(started), opt_us(through)))

        await self._write("recording a fleet heartbeat", work)

    async def members(self, location: str | None = None) -> list[Member]:
        async def work(tx: Tx) -> list[Member]:
            sql = ("SELECT location, agent, beat, left_us, seen_us, started_us, through_us"
                   " FROM fleet.members")
            rows = await (tx.fetch(sql + " WHERE location = ?", (location,)) if location
                          else tx.fetch(sql))
            return [Member(str(r[0]), MemberRow(str(r[1]), int(r[2]), r[3] is not None),
                           us_to_datetime(r[4]), us_to_datetime(r[5]), opt_dt(r[6]))
                    for r in rows]

        return await self._read("reading the fleet's members", work)

    async def last_seen(self, location: str, agent: str) -> datetime | None:
        """The last sign of life recorded under this name (a previous run's, at start-up)."""
        async def work(tx: Tx) -> datetime | None:
            rows = await tx.fetch("SELECT seen_us FROM fleet.members WHERE location = ?"
                                  " AND agent = ?", (location, agent))
            return us_to_datetime(rows[0][0]) if rows else None

        return await self._read("reading a member's last sign of life", work)

    # --- units ------------------------------------------------------------------

    async def rejoin(self, location: str, agent: str, previous: datetime | None,
                     now: datetime) -> int:
        """A restarted agent lets go of what its previous run still held (after replaying that
        run's journal): the units become free to claim, their tenures end at the previous
        run's last sign of life, like a dead agent's. Returns how many it let go."""
        now_us = datetime_to_us(now)
        end_us = datetime_to_us(previous) if previous is not None else now_us

        async def work(tx: Tx) -> int:
            freed = await tx.execute(
                "UPDATE fleet.units SET agent = NULL, since_us = ? WHERE location = ?"
                " AND agent = ?", (now_us, location, agent))
            await tx.execute(
                "UPDATE fleet.tenures SET until_us = GREATEST(since_us, LEAST(?::bigint,"
                " ?::bigint)), end_cause = 'dead' WHERE location = ? AND agent = ?"
                " AND until_us IS NULL", (end_us, now_us, location, agent))
            if freed:
                await mark_dirty(tx, location, min(end_us, now_us))
            return freed

        return await self._write(f"rejoining {location} as {agent}", work)

    async def holdings(self, location: str) -> dict[str, Holding]:
        async def work(tx: Tx) -> dict[str, Holding]:
            rows = await tx.fetch("SELECT unit, agent, token FROM fleet.units WHERE location = ?",
                                  (location,))
            return {str(r[0]): Holding(str(r[0]), r[1], int(r[2])) for r in rows}

        return await self._read("reading the fleet's assignments", work)

    async def claim(self, location: str, agent: str, claim: Claim, now: datetime,
                    checks: Sequence[str], services: Sequence[str]) -> Handover | None:
        """Take the unit if its token is still the one seen; None if someone was faster."""
        now_us = datetime_to_us(now)

        async def work(tx: Tx) -> Handover | None:
            if claim.seen == 0:
                taken = await tx.execute(
                    "INSERT INTO fleet.units (location, unit, agent, token, since_us)"
                    " VALUES (?, ?, ?, 1, ?) ON CONFLICT (location, unit) DO NOTHING",
                    (location, claim.unit, agent, now_us))
            else:
                taken = await tx.execute(
                    "UPDATE fleet.units SET agent = ?, token = token + 1, since_us = ?"
                    " WHERE location = ? AND unit = ? AND token = ?",
                    (agent, now_us, location, claim.unit, claim.seen))
            if taken != 1:
                return None
            last_seen: datetime | None = None
            if claim.previous is not None:  # it died holding the unit: its tenure ends at its last sign
                seen = await tx.fetch("SELECT seen_us FROM fleet.members WHERE location = ?"
                                      " AND agent = ?", (location, claim.previous))
                last_seen = us_to_datetime(seen[0][0]) if seen else None
            until_us = datetime_to_us(last_seen) if last_seen is not None else now_us
            await tx.execute(
                "UPDATE fleet.tenures SET until_us = GREATEST(since_us, LEAST(?::bigint, ?::bigint)),"
                " end_cause = 'dead' WHERE location = ? AND unit = ? AND until_us IS NULL",
                (until_us, now_us, location, claim.unit))
            await tx.execute(  # from whom: the dead holder, or whoever released it last
                f"INSERT INTO fleet.tenures ({_TENURE_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, NULL, COALESCE(?, (SELECT agent FROM fleet.tenures"
                " WHERE location = ? AND unit = ? ORDER BY token DESC LIMIT 1)), NULL)",
                (location, claim.unit, claim.token, agent, now_us, claim.previous, location,
                 claim.unit))
            await mark_dirty(tx, location, min(until_us, now_us))
            schema = await _schema(tx, location)
            snaps = await tx.fetch(
                "SELECT check_name, state, consecutive_failures, consecutive_successes,"
                " streak_start_us, streak_reason, streak_detail, downtime_start_us, last_probe_us,"
                f" recovery_start_us FROM {quoted(schema)}.check_state"
                " WHERE check_name = ANY(?)", (list(checks),))
            opened = await tx.fetch(
                f"SELECT name, start_us FROM {quoted(schema)}.downtimes"
                " WHERE level = 'service' AND end_us IS NULL AND name = ANY(?)", (list(services),))
            return Handover(claim.token, {str(r[0]): _snapshot(r) for r in snaps},
                            {str(r[0]): us_to_datetime(r[1]) for r in opened},
                            claim.previous, last_seen)

        return await self._write(f"claiming {claim.unit} at {location}", work)

    async def release(self, location: str, agent: str, holdings: Mapping[str, int],
                      now: datetime, *, leaving: bool = False) -> int:
        """Let units go (unit -> our token), closing their tenures now; `leaving` marks a clean stop."""
        now_us = datetime_to_us(now)

        async def work(tx: Tx) -> int:
            released = 0
            for unit, token in holdings.items():
                released += await tx.execute(
                    "UPDATE fleet.units SET agent = NULL, since_us = ?"
                    " WHERE location = ? AND unit = ? AND agent = ? AND token = ?",
                    (now_us, location, unit, agent, token))
                await tx.execute(
                    "UPDATE fleet.tenures SET until_us = GREATEST(since_us, ?::bigint),"
                    " end_cause = 'released' WHERE location = ? AND unit = ? AND token = ?"
                    " AND until_us IS NULL", (now_us, location, unit, token))
            if holdings:
                await mark_dirty(tx, location, now_us)
            if leaving:
                await tx.execute("UPDATE fleet.members SET left_us = ?, seen_us = ?"
                                 " WHERE location = ? AND agent = ?",
                                 (now_us, now_us, location, agent))
            return released

        return await self._write(f"handing over {len(holdings)} unit(s) at {location}", work)

    async def tenures(self, since: datetime | None = None, *, location: str | None = None,
                      unit: str | None = None) -> list[Tenure]:
        """Tenures still open or ending after `since`, oldest first."""
        async def work(tx: Tx) -> list[Tenure]:
            where = Filter().equal("location", location).equal("unit", unit)
            if since is not None:
                where.holds("(until_us IS NULL OR until_us >= ?)", datetime_to_us(since))
            rows = await tx.fetch(f"SELECT {_TENURE_COLUMNS} FROM fleet.tenures{where.sql}"
                                  " ORDER BY since_us, token", where.params)
            return [_tenure(r) for r in rows]

        return await self._read("reading the fleet's tenures", work)

    async def first_watch(self) -> dict[tuple[str, str], datetime]:
        """(location, unit) -> when that location first watched it: where its record begins."""
        async def work(tx: Tx) -> dict[tuple[str, str], datetime]:
            rows = await tx.fetch("SELECT location, unit, min(since_us) FROM fleet.tenures"
                                  " GROUP BY location, unit")
            return {(str(r[0]), str(r[1])): us_to_datetime(r[2]) for r in rows}

        return await self._read("reading when the fleet began", work)

    # --- the evidence, for readers ------------------------------------------------

    async def location_intervals(self, since: datetime | None, *, level: Level | None = None,
                                 name: str | None = None, until: datetime | None = None
                                 ) -> list[EvidenceRecord]:
        return await location_intervals(self, since, level=level, name=name, until=until)


async def location_intervals(store: PostgresStore, since: datetime | None, *,
                             level: Level | None = None, name: str | None = None,
                             until: datetime | None = None) -> list[EvidenceRecord]:
    """Every location's own intervals overlapping [since, until), oldest first."""
    where = Filter().overlapping(since, until).equal("level", level).equal("name", name)

    async def work(tx: Tx) -> list[EvidenceRecord]:
        out: list[EvidenceRecord] = []
        schemas = await tx.fetch("SELECT location, schema_name FROM fleet.locations"
                                 " ORDER BY location")
        for location, schema in ((str(r[0]), str(r[1])) for r in schemas):
            rows = await tx.fetch(
                "SELECT level, name, start_us, end_us, reason, detail, confirmed_us,"
                f" end_cause FROM {quoted(schema)}.downtimes{where.sql}", where.params)
            out.extend(EvidenceRecord(location, level_of(r[0]), str(r[1]), us_to_datetime(r[2]),
                                   opt_dt(r[3]), str(r[4]), str(r[5]), opt_dt(r[6]), r[7])
                       for r in rows)
        return sorted(out, key=lambda r: (r.start, r.location))

    return await store._read("reading the locations' evidence", work)


async def _schema(tx: Tx, location: str) -> str:
    rows = await tx.fetch("SELECT schema_name FROM fleet.locations WHERE location = ?",
                          (location,))
    if not rows:
        raise StorageError(f"location {location!r} is not registered in fleet.locations")
    return str(rows[0][0])


async def mark_dirty(tx: Tx, location: str, from_us: int) -> None:
    """The judge must look again at this location's evidence from `from_us` on."""
    await tx.execute(
        "UPDATE fleet.locations SET version = version + 1,"
        " dirty_from_us = LEAST(COALESCE(dirty_from_us, ?::bigint), ?::bigint) WHERE location = ?",
        (from_us, from_us, location))
