"""A fleet agent's loop: heartbeat, membership, replay, and its share of the location's checks.

Every heartbeat (a supervised task):
0. at the first round only: what a previous run under our name still held is
   let go once that run's journal is written (its tenures end at its last beat);
1. bump our beat and read the location's members (monitord/fleet/membership.py);
   if the database does not answer, say so to the failure detector and stop
   here: the pipeline keeps probing what we hold and journals
   (monitord/storage/fleet/writer.py);
2. replay the journal; nothing below happens while it holds anything, so a
   unit is never handed over before all of its evidence is written;
3. drop units the database says are no longer ours (taken over while we were
   cut off: our late evidence for them was fenced);
4. plan (monitord/fleet/assignment.py): hand over units another live agent
   now wins (stop probing them, wait for probes in flight, write, release),
   then claim units that are ours to take (a free one, or a dead holder's),
   resuming each from the state its previous holder recorded.

A clean stop (`leave`) hands every unit over at once: the others claim them
at their next heartbeat instead of waiting a lease.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

import structlog

from monitord.config.load import EffectiveCheck
from monitord.config.models import ServiceConfig
from monitord.core.events import CheckSnapshot
from monitord.core.pipeline import Pipeline
from monitord.core.supervisor import Health
from monitord.errors import StorageError
from monitord.fleet.assignment import Claim, plan
from monitord.fleet.membership import Membership
from monitord.storage.fleet.writer import AgentWriter
from monitord.storage.postgresql.coordination import FleetDb

__all__ = ["AgentRuntime"]

log = structlog.get_logger("monitord.fleet.agent")


class AgentRuntime:
    def __init__(self, *, location: str, agent: str, db: FleetDb, writer: AgentWriter,
                 pipeline: Pipeline, checks: Sequence[EffectiveCheck],
                 services: Sequence[ServiceConfig], units: Mapping[str, Sequence[str]],
                 start_jobs: Callable[[Sequence[EffectiveCheck]], None],
                 stop_jobs: Callable[[Sequence[str]], Awaitable[None]],
                 heartbeat: float, lease: float, settle: float,
                 health: Health | None = None) -> None:
        """`settle`: how long a probe may take to reach the record after it started (the
        longest timeout and a margin): a beat says our evidence is complete up to
        `now - settle` when nothing waits in the journal."""
        self.location, self.agent = location, agent
        self._db = db
        self.writer = writer
        self._pipeline = pipeline
        self._checks = {c.name: c for c in checks}
        self._services = list(services)
        self._units = dict(units)
        self._start_jobs = start_jobs
        self._stop_jobs = stop_jobs
        self._heartbeat = heartbeat
        self.membership = Membership(agent, lease)
        self.started = datetime.now(UTC)
        self.handovers = 0  # units taken from a dead or departed holder
        self.last_round: datetime | None = None
        self._health = health
        self._settle = timedelta(seconds=settle)
        self._looked = self._rejoined = False  # a previous run under our name, dealt with
        self._previous: datetime | None = None

    @property
    def tokens(self) -> dict[str, int]:
        return self.writer.shares.tokens

    @property
    def held_checks(self) -> list[str]:
        return [c for u in self.tokens for c in self._units.get(u, ())]

    async def run(self) -> None:
        while True:
            await self.round()
            self._report()
            await asyncio.sleep(self._heartbeat)

    def _report(self) -> None:
        """/healthz: evidence waiting in the journal, or a database we cannot reach."""
        if self._health is None:
            return
        w = self.writer
        problem = None
        if w.waiting or self.membership.blind or not w.online:
            since = w.failing_since.isoformat() if w.failing_since else "now"
            problem = (f"{w.waiting} batch(es) of evidence journaled locally, waiting for "
                       f"PostgreSQL (failing since {since}: {w.error or 'not reachable'})"
                       if w.waiting or not w.online else
                       "the fleet's membership table cannot be read: holding our checks")
        self._health.set("fleet", problem)

    async def round(self) -> None:
        now = datetime.now(UTC)
        mono = asyncio.get_running_loop().time()
        try:
            if not self._looked:  # before our first beat overwrites it
                self._previous = await self._db.last_seen(self.location, self.agent)
                self._looked = True
            settled = self.writer.online and not self.writer.waiting
            await self._db.beat(self.location, self.agent, now, self.started,
                                now - self._settle if settled else None)
            self.membership.renewed(mono)
            members = await self._db.members(self.location)
        except StorageError as exc:
            if not self.membership.blind:
                log.error("fleet_membership_unreachable", problem=str(exc),
                          holding=len(self.tokens))
            self.membership.unreachable(mono)
            return
        self.membership.observed(mono, [m.row for m in members])
        if not await self.writer.replay(now):
            return
        try:
            if not self._rejoined:  # what a previous run of ours held, its journal now written
                freed = await self._db.rejoin(self.location, self.agent, self._previous, now)
                self._rejoined = True
                if freed:
                    log.warning("previous_run_let_go", units=freed,
                                last_seen=self._previous.isoformat() if self._previous else None)
            holdings = await self._db.holdings(self.location)
            lost = {u for u, token in self.tokens.items()
                    if (h := holdings.get(u)) is None or h.agent != self.agent or h.token != token}
            lost |= self.writer.fenced & set(self.tokens)
            if lost:
                log.warning("checks_lost", units=sorted(lost),
                            problem="another agent took these over while this one was cut off")
                await self._let_go(lost, now)
            self.writer.fenced.clear()
            p = plan(self.agent, self._units, self.membership.live(mono), holdings)
            if p.release:
                await self._hand_over(p.release, now)
            if p.claim:
                await self._claim(p.claim, now)
        except StorageError as exc:
            log.warning("fleet_assignment_failed", problem=str(exc))
        self.last_round = now

    # --- giving units up ----------------------------------------------------------

    async def _let_go(self, units: Iterable[str], now: datetime) -> None:
        """Stop probing `units` and drop them from the pipeline; their state stays recorded."""
        units = [u for u in units if u in self.tokens]
        names = [c for u in units for c in self._units[u]]
        await self._stop_jobs(names)
        for u in units:
            self.tokens.pop(u, None)
        await self._reassign({}, {}, now)

    async def _hand_over(self, units: Sequence[str], now: datetime) -> None:
        held = {u: self.tokens[u] for u in units if u in self.tokens}
        await self._let_go(held, now)
        await self._pipeline.flush(now)
        if not await self.writer.replay(now):
            raise StorageError("the journal could not be written before a hand-over")
        await self._db.release(self.location, self.agent, held, datetime.now(UTC))
        log.info("checks_handed_over", units=len(held))

    async def leave(self) -> None:
        """Clean stop: everything we hold goes back at once (after its evidence is written)."""
        now = datetime.now(UTC)
        held = dict(self.tokens)
        try:
            await self._pipeline.flush(now)
            if not await self.writer.replay(now):
                raise StorageError("the journal still holds evidence")
            await self._db.release(self.location, self.agent, held, now, leaving=True)
        except StorageError as exc:
            log.error("fleet_leave_failed", problem=str(exc), units=len(held),
                      consequence="the others take these checks over after a lease; the "
                                  "local journal is replayed at the next start")
            return
        self.tokens.clear()
        log.info("fleet_left", units=len(held))

    # --- taking units ---------------------------------------------------------------

    async def _claim(self, claims: Sequence[Claim], now: datetime) -> None:
        snapshots: dict[str, CheckSnapshot] = {}
        opened: dict[str, datetime] = {}
        taken: list[str] = []
        for c in claims:
            checks = list(self._units[c.unit])
            services = [s.name for s in self._services if set(s.checks) <= set(checks)]
            handover = await self._db.claim(self.location, self.agent, c, now, checks, services)
            if handover is None:
                continue
            self.tokens[c.unit] = handover.token
            snapshots.update(handover.snapshots)
            opened.update(handover.open_services)
            taken.append(c.unit)
            if handover.previous is not None:
                self.handovers += 1
                log.warning("checks_taken_over", unit=c.unit, from_agent=handover.previous,
                            last_seen=handover.last_seen.isoformat() if handover.last_seen
                            else None, token=handover.token)
        if not taken:
            return
        await self._reassign(snapshots, opened, now)
        self._start_jobs([self._checks[n] for u in taken for n in self._units[u]])
        log.info("checks_claimed", units=len(taken), holding=len(self.tokens))

    async def _reassign(self, snapshots: Mapping[str, CheckSnapshot],
                        opened: Mapping[str, datetime], now: datetime) -> None:
        held = set(self.held_checks)
        checks = [c for name, c in self._checks.items() if name in held]
        services = [s for s in self._services if set(s.checks) <= held]
        await self._pipeline.reassign(checks, services, snapshots, opened, now)
