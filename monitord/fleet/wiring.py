"""Every fleet part of one process, built from the config (`daemon.location` set).

With `daemon.role: both` (the default) a process runs an agent (its share of
the location's checks, its evidence, its journal) and is a candidate for the
judge's lease; `agent` only probes, `judge` only judges. The daemon (monitord/daemon.py) owns the
pipeline, the scheduler, the HTTP API and the supervisor; it hands them here.

Timing, all from `daemon.heartbeat_interval` h (docs/fleet.md states the bound):
- lease: 3 h. A member whose beat stood still that long is dead;
- failover: a dead agent's checks are claimed within lease + 2 h of its death
  and probed again at their next slot;
- bridge: lease + 3 h. A location's silence that short is a hand-over, not
  unmonitored time (it covers the failover with a heartbeat to spare).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitord.config.load import EffectiveCheck
from monitord.config.models import Config
from monitord.core.pipeline import Pipeline
from monitord.core.stream import Sink
from monitord.core.supervisor import Health, Supervisor, TaskSpec
from monitord.errors import FleetError
from monitord.fleet.agent import AgentRuntime
from monitord.fleet.assignment import units
from monitord.fleet.judge import JudgeRuntime, Subject
from monitord.fleet.quorum import JudgedState
from monitord.sinks.alertmanager import AlertmanagerSink
from monitord.sinks.alerts import Subjects
from monitord.sinks.health import DeliveryMetrics, MqttMetrics
from monitord.sinks.logs import LogSink, services_of
from monitord.sinks.mqtt import MqttSink
from monitord.sinks.wiring import daemon_url
from monitord.storage.fleet.journal import Journal
from monitord.storage.fleet.shares import Shares
from monitord.storage.fleet.writer import AgentWriter
from monitord.storage.interface import OutboxQueue
from monitord.storage.location import PostgresLocation, parse_storage
from monitord.storage.postgresql.coordination import FleetDb
from monitord.storage.postgresql.evidence import LocationStore
from monitord.storage.postgresql.judged import JudgeStore

__all__ = ["LEASE_BEATS", "Fleet", "agent_name"]

LEASE_BEATS = 3
BRIDGE_BEATS = LEASE_BEATS + 3
SETTLE_MARGIN = 0.5  # seconds from a probe's deadline to its batch being committed, at most
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0)


def agent_name(configured: str | None) -> str:
    """The configured agent name, or this host's name made into one."""
    if configured:
        return configured
    host = re.sub(r"[^A-Za-z0-9_.\-]", "-", socket.gethostname())[:128].lstrip("._-")
    return host or "agent"


class Fleet:
    def __init__(self, config: Config, checks: Sequence[EffectiveCheck], registry: CollectorRegistry,
                 health: Health, supervisor: Supervisor, outbox: OutboxQueue) -> None:
        d = config.daemon
        if d.location is None:
            raise FleetError("a fleet needs daemon.location")
        where = parse_storage(d.storage)
        if not isinstance(where, PostgresLocation):
            raise FleetError(
                f"daemon.location is set ({d.location}), so daemon.storage must be the fleet's"
                f" PostgreSQL database (postgresql://...), not {d.storage!r} (docs/fleet.md)")
        self.config = config
        self.location = d.location
        self.agent = agent_name(d.agent)
        self.heartbeat = d.heartbeat_interval
        self.lease = LEASE_BEATS * self.heartbeat
        self.bridge = timedelta(seconds=BRIDGE_BEATS * self.heartbeat)
        self._url, self._password = where.url, d.storage_secret()
        self._health = health
        self._supervisor = supervisor
        self.checks = list(checks)
        self.units = units([c.name for c in checks], [s.checks for s in config.services])
        unit_of_check = {c: u for u, members in self.units.items() for c in members}
        unit_of_service = {s.name: unit_of_check[s.checks[0]] for s in config.services}
        self.shares = Shares(unit_of_check, unit_of_service)
        self.db = FleetDb(self._url, password=self._password)
        self.journal = Journal(Path("var") / f"journal-{self.location}-{self.agent}.db")
        self.writer: AgentWriter | None = None
        self.agent_runtime: AgentRuntime | None = None
        self.lag = Histogram("monitord_fleet_judge_lag_seconds",
                             "Seconds from the probe that decided a judged transition to its write.",
                             buckets=LAG_BUCKETS, registry=registry)
        self.judge: JudgeRuntime | None = None
        self.judge_sinks: list[Sink] = []
        self._judge_tasks: list[TaskSpec] = []
        self._alertmanager: AlertmanagerSink | None = None
        self.role = d.role
        if d.role in ("judge", "both"):
            self._build_judge(config, registry, outbox)
        registry.register(_FleetCollector(self))

    def _build_judge(self, config: Config, registry: CollectorRegistry, outbox: OutboxQueue) -> None:
        site = config.daemon.site
        sinks: list[Sink] = [LogSink(services_of(config.services))]
        if config.alertmanager is not None:
            alert_subjects = Subjects.build(site, self.checks, config.services,
                                            daemon_url(config), config.alertmanager.runbook_url)
            self._alertmanager = AlertmanagerSink(config.alertmanager, alert_subjects,
                                                  metrics=DeliveryMetrics(registry))
            sinks.append(self._alertmanager)
            self._judge_tasks.extend(self._alertmanager.tasks())
        if config.mqtt is not None:
            mqtt = MqttSink(config.mqtt, site, outbox,
                            checks=[c.name for c in self.checks],
                            services=[s.name for s in config.services],
                            metrics=MqttMetrics(registry, config.mqtt.max_pending))
            sinks.append(mqtt)
            self._judge_tasks.extend(mqtt.tasks())
        self.judge_sinks = sinks
        subjects = [Subject("check", c.name, c.config.locations.at_least,
                            self.shares.unit_of_check[c.name]) for c in self.checks]
        subjects += [Subject("service", s.name, s.locations.at_least,
                             self.shares.unit_of_service[s.name]) for s in config.services]
        outbox_rows = config.mqtt is not None
        self.judge = JudgeRuntime(
            subjects, self.db,
            lambda: JudgeStore(self._url, password=self._password, outbox=outbox_rows,
                               connect_timeout=5.0, command_timeout=10.0),
            sinks, location=self.location, agent=self.agent, heartbeat=self.heartbeat,
            lease=self.lease, bridge=self.bridge, lag=self.lag.observe, on_lease=self._on_lease)

    async def _on_lease(self, held: bool) -> None:
        """Alert and MQTT delivery run only in the process that judges."""
        for name, factory in self._judge_tasks:
            if held:
                if name not in self._supervisor.running():
                    self._supervisor.start(name, factory)
            else:
                await self._supervisor.stop(name)

    async def open(self) -> AgentWriter | None:
        """Join: the fleet tables, and for an agent its location's record and local journal."""
        await self.db.open()
        if self.role == "judge":
            return None
        schema = await self.db.location_schema(self.location)
        store = LocationStore(self._url, schema=schema, location=self.location, agent=self.agent,
                              password=self._password)
        self.writer = AgentWriter(store, self.journal, self.shares)
        await self.writer.open()
        return self.writer

    def attach(self, pipeline: Pipeline, start_jobs: Callable[[Sequence[EffectiveCheck]], None],
               stop_jobs: Callable[[Sequence[str]], Awaitable[None]]) -> AgentRuntime:
        assert self.writer is not None, "open() first"
        self.agent_runtime = AgentRuntime(
            location=self.location, agent=self.agent, db=self.db, writer=self.writer,
            pipeline=pipeline, checks=self.checks, services=self.config.services,
            units=self.units, start_jobs=start_jobs, stop_jobs=stop_jobs,
            heartbeat=self.heartbeat, lease=self.lease, health=self._health,
            settle=max((c.timeout for c in self.checks), default=0.0) + SETTLE_MARGIN)
        return self.agent_runtime

    def tasks(self) -> list[TaskSpec]:
        out: list[TaskSpec] = []
        if self.agent_runtime is not None:
            out.append(("fleet-agent", self.agent_runtime.run))
        if self.judge is not None:
            out.append(("fleet-judge", self.judge.run))
        return out

    async def leave(self) -> None:
        """Clean stop: hand our checks over, then let the judge's lease go."""
        if self.agent_runtime is not None:
            await self.agent_runtime.leave()
        if self.judge is not None:
            await self.judge.stop()

    def status(self) -> dict[str, Any]:
        """GET /api/v1/fleet: this agent's view."""
        rt, w, j = self.agent_runtime, self.writer, self.judge
        live: list[str] = []
        if rt is not None:
            with contextlib.suppress(RuntimeError):
                live = sorted(rt.membership.live(asyncio.get_running_loop().time()))
        return {
            "location": self.location,
            "agent": self.agent,
            "checks_held": sorted(rt.held_checks) if rt is not None else [],
            "members_live": live,
            "handovers": rt.handovers if rt is not None else 0,
            "journal_waiting": w.waiting if w is not None else 0,
            "database_up": bool(w is not None and w.online),
            "lease_seconds": self.lease,
            "failover_bound_seconds": self.lease + 2 * self.heartbeat,
            "hand_over_bridge_seconds": self.bridge.total_seconds(),
            "judge": {
                "candidate": j is not None,
                "holds_lease": bool(j is not None and j.holds_lease),
                "since": j.judging_since.isoformat() if j and j.judging_since else None,
                "rounds": j.rounds if j is not None else 0,
            },
        }

    async def close(self) -> None:
        if self._alertmanager is not None:
            await self._alertmanager.close()
        if self.writer is not None:
            await self.writer.close()
        await self.db.close()


class _FleetCollector(Collector):
    """The fleet's figures, read at scrape time."""

    def __init__(self, fleet: Fleet) -> None:
        self._fleet = fleet

    def collect(self) -> Iterable[Metric]:
        f = self._fleet
        rt, w = f.agent_runtime, f.writer
        held = GaugeMetricFamily("monitord_fleet_checks_held",
                                 "Checks this agent runs for its location now.")
        held.add_metric([], len(rt.held_checks) if rt is not None else 0)
        yield held
        waiting = GaugeMetricFamily("monitord_fleet_journal_waiting",
                                    "Batches of evidence in the local journal, not yet in PostgreSQL.")
        waiting.add_metric([], w.waiting if w is not None else 0)
        yield waiting
        up = GaugeMetricFamily("monitord_fleet_database_up",
                               "1 while this agent's evidence reaches PostgreSQL.")
        up.add_metric([], 1 if w is not None and w.online else 0)
        yield up
        taken = CounterMetricFamily("monitord_fleet_handovers",
                                    "Units this agent took over from a dead or departed holder.")
        taken.add_metric([], rt.handovers if rt is not None else 0)
        yield taken
        judge = GaugeMetricFamily("monitord_fleet_judge", "1 while this process holds the judge lease.")
        judge.add_metric([], 1 if f.judge is not None and f.judge.holds_lease else 0)
        yield judge
        if f.judge is not None and f.judge.holds_lease:
            state = GaugeMetricFamily("monitord_fleet_judged_state",
                                      "Judged state over the locations: 0 up, 1 down, 2 unknown.",
                                      labels=["level", "name"])
            code = {JudgedState.UP: 0, JudgedState.DOWN: 1, JudgedState.UNKNOWN: 2}
            for (level, name), s in sorted(f.judge.states.items()):
                state.add_metric([level, name], code[s])
            yield state
