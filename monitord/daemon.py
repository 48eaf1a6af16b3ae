"""The application object: builds every part from the config and runs them.

Start-up order matters for the SLA record:
1. the store is opened, which takes its single-writer lock: a second daemon on
   the same store stops here, having written nothing;
2. the state to resume is read (open intervals, streak counters, windows) and
   the pipeline, the one writer, is built from it;
3. the HTTP port is bound (a port in use also stops us before any write);
4. the run is recorded, with the gap since the previous run's last sign of
   life (the daemon's own downtime is unmonitored time, never silently up);
5. the pipeline resumes (sinks are seeded, services reconciled) and the
   supervisor starts every background task.
Shutdown waits for in-flight probes so their results are recorded, writes
what waits in the pipeline's backlog, then marks a clean stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import structlog
from aiohttp import web

from monitord.config import load_config
from monitord.config.load import EffectiveCheck, effective_checks
from monitord.config.models import Config
from monitord.config.secrets import secret_warnings
from monitord.config.snmp import snmp_warnings
from monitord.core.pipeline import Pipeline, ResumeState
from monitord.core.runner import ProbeContext, build_probe, dns_resolver, run_probe
from monitord.core.scheduler import Load, Scheduler
from monitord.core.stream import Reconfigured
from monitord.core.supervisor import Health, Supervisor
from monitord.errors import ConfigError, StoreUnavailableError
from monitord.fleet.wiring import Fleet
from monitord.http.api import build_app
from monitord.http.context import ApiContext, SlaApi
from monitord.sinks.metrics import Metrics
from monitord.sinks.probing import ProbingCollector
from monitord.sinks.wiring import build_sinks
from monitord.sla.gauges import SlaMetrics
from monitord.sla.runtime import SlaRuntime
from monitord.storage.factory import build_reader, build_store
from monitord.storage.interface import MaintenanceAdd, MaintenanceDelete, ReviewAdd, Store
from monitord.storage.records import MaintenanceRecord, ReviewRecord
from probes.base import Probe
from probes.sip.transport import SipTransports
from probes.snmp.client import SnmpClient

log = structlog.get_logger("monitord.daemon")

CLOCK_EVERY = 1.0  # seconds between looks at the maintenance calendar
UPKEEP_EVERY = 1.0  # seconds between looks at the heartbeat and the write backlog
LOOP_SWITCH_INTERVAL = 0.0005  # seconds a worker thread may keep the GIL from the loop


def _favour_the_loop() -> None:
    """Make worker threads give the GIL back to the event loop sooner.

    A /metrics render, an SLA refresh or a JSON report runs in a worker
    thread and holds the GIL between the loop's system calls. Each time the
    loop releases it (every select, send and receive), the worker takes it
    and keeps it for up to the switch interval: 5 ms by default, so a 40 ms
    render stretched a busy loop's turns by many times 5 ms and showed up
    as scheduling lateness. At 0.5 ms the loop waits a tenth as long; the
    workers take a little longer, which no one is waiting on. Process-wide:
    the daemon is the process. (Measured with a 40 ms thread burst a second
    next to 3,000 timed sends a second: lateness p99 5.0 -> 1.4 ms, max
    12.4 -> 3.4 ms; 0.2 ms was worse again.)
    """
    sys.setswitchinterval(LOOP_SWITCH_INTERVAL)


# Full collections at most once per 10,000 young ones, not per 100. Behind schedule,
# probes live hundreds of ms and reach the old generation; CPython then ran a full
# collection each time a quarter of them had turned over: 3-5 a second, 100-400 ms
# each, which kept the daemon behind (at 14,000 checks). The middle generation is
# collected every 2 young collections, not 10: every probe in flight survives into it
# when targets time out (an outage: 4,000 probes a second in flight for their whole
# timeout) and each of its collections walked them all, 23-26 ms; an object is walked
# there once whatever the threshold, so smaller collections cost no more in all (8 ms
# each; p99 lateness 41-60 -> 14-20 ms; answered probes unchanged). Cyclic garbage
# waits longer for its collection, that is all.
GC_THRESHOLDS = (700, 2, 5000)


def _settle_heap(*, young_only: bool = False) -> None:
    """Keep the cyclic GC off the probe hot path.

    Everything built at start-up (config models, pydantic schemas, probes,
    metric children) lives as long as the daemon; a full collection walking
    it paused the loop for ~100 ms with a few thousand checks, which showed
    up directly as scheduling lateness. Freezing moves it out of the GC's
    view. (A larger gen-0 threshold was tried and made each young
    collection slower: the default stays.)

    `young_only`, for the settle after the first round: that round's objects
    sit in the old generation by then, and a full collection walking them
    stalled the loop at full load (149 ms at 11,500 checks). Collecting the
    young generations is enough; cyclic garbage that one round left in the
    old one is frozen with the rest (once per start or reload, not per probe).
    """
    started = time.perf_counter()
    gc.collect(1 if young_only else 2)
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    log.info("heap_settled", frozen_objects=gc.get_freeze_count(),
             pause_ms=round((time.perf_counter() - started) * 1000, 1))


def _settle_round(checks: Sequence[EffectiveCheck]) -> float:
    """Seconds until every check in `checks` has run once (and timed out, at worst).

    Probes build their request templates and per-check state on their first
    run, after the start-up freeze; a full collection walking those (~25 ms
    at 4,000 checks, a few times a minute) was what set the p99 of scheduling
    lateness. So the heap is settled once more when that round is over.
    """
    return max((c.interval + c.timeout for c in checks), default=0.0) + 1.0


class Daemon:
    def __init__(self, config: Config, *, store: Store | None = None,
                 config_path: Path | None = None) -> None:
        self.config = config
        self.config_path = config_path  # what a reload (SIGHUP, POST /api/v1/reload) reads
        self.checks = effective_checks(config)
        self.metrics = Metrics(config.daemon.site)
        self.health = Health()
        self.supervisor = Supervisor(self.health, observer=self.metrics)
        self.fleet: Fleet | None = None
        if config.daemon.location is None:
            # MQTT publishes from the store's outbox; without MQTT no rows pile up unread
            self.store: Store = store or build_store(config.daemon,
                                                     outbox=config.mqtt is not None)
            self.sinks = build_sinks(config, self.checks, self.metrics, self.health, self.store,
                                     self.metrics.registry)
        else:
            # A fleet agent (docs/fleet.md): it reads the judged record, writes its location's
            # evidence, and alerts only as the judge (fleet/wiring.py builds those sinks).
            self.store = store or build_reader(config.daemon)
            agent_view = config.model_copy(update={"alertmanager": None, "mqtt": None})
            self.sinks = build_sinks(agent_view, self.checks, self.metrics, self.health,
                                     self.store, self.metrics.registry)
            self.fleet = Fleet(config, self.checks, self.metrics.registry, self.health,
                               self.supervisor, self.store)
        self.sla = SlaRuntime(config, self.store)
        self.sla_metrics = SlaMetrics(self.sla, self.metrics.registry)
        self.pipeline: Pipeline | None = None
        self.port: int | None = None  # bound HTTP port, once listening
        self._ready = asyncio.Event()
        self._probes: ProbeContext | None = None
        self._scheduler: Scheduler | None = None
        self._reloading = asyncio.Lock()
        self._reload_tasks: set[asyncio.Task[None]] = set()
        self._settle: asyncio.TimerHandle | None = None  # the heap, once new checks ran

    async def wait_ready(self) -> None:
        await self._ready.wait()

    async def run(self, stop: asyncio.Event) -> None:
        if self.fleet is not None:
            await self._run_agent(self.fleet, stop)
            return
        cfg = self.config
        await self.store.open()  # the single-writer lock, before anything is written
        sip = SipTransports()
        snmp = SnmpClient()  # one SnmpEngine for every SNMP check; socket opened on first use
        runner: web.AppRunner | None = None
        try:
            pipeline = self.pipeline = await self._build_pipeline()
            runner = await self._serve_http(pipeline)
            now = datetime.now(UTC)
            gap = await self.store.start_run(now)
            if gap is not None:
                log.warning("unmonitored_gap", start=gap.start.isoformat(),
                            end=gap.end.isoformat(),
                            seconds=round((gap.end - gap.start).total_seconds(), 3),
                            cause=gap.cause)
                self.metrics.unmonitored_seconds += (gap.end - gap.start).total_seconds()
            await pipeline.resume(now, last_alive=gap.start if gap is not None else None)
            await sip.start()
            self._probes = ProbeContext(sip=sip, snmp=snmp, dns=dns_resolver(cfg.daemon.dns))
            self._scheduler = self._schedule(pipeline, self.checks)
            self.metrics.registry.register(ProbingCollector(
                sip=lambda: sip.stats, snmp_drops=lambda: snmp.socket_drops,
                load=self._load))
            log.info("started", site=cfg.daemon.site, checks=len(self.checks),
                     services=len(cfg.services),
                     listen=f"{cfg.daemon.listen_address[0]}:{self.port}",
                     storage=str(cfg.daemon.storage))
            _settle_heap()
            _favour_the_loop()
            for warning in secret_warnings(cfg):
                log.warning("secret_file_permissions", problem=warning)
            for warning in snmp_warnings(cfg.checks):
                log.warning("snmp_weak_protocol", problem=warning)
            sup = self.supervisor
            sup.start("scheduler", self._scheduler.run)
            sup.start("upkeep", lambda: self._upkeep(pipeline))
            sup.start("maintenance-clock", lambda: self._clock(pipeline))
            sup.start("sla-metrics", self.sla_metrics.run)
            for name, factory in self.sinks.tasks:
                sup.start(name, factory)
            self._ready.set()
            await stop.wait()
            async with self._reloading:
                await self._stop_probing()
            await sup.stop_all()
            end = datetime.now(UTC)
            clean = await pipeline.flush(end)
            if not clean:  # the next start's gap begins at the last recorded sign of life
                log.error("record_not_written", waiting=pipeline.health(end).waiting,
                          problem=self.health.summary())
            await self.store.stop_run(datetime.now(UTC))
            log.info("stopped", clean=clean)
        finally:
            if self._settle is not None:
                self._settle.cancel()
            if runner is not None:
                await runner.cleanup()
            await sip.close()
            await snmp.close()
            if self.sinks.alertmanager is not None:
                await self.sinks.alertmanager.close()
            await self.store.close()

    async def _run_agent(self, fleet: Fleet, stop: asyncio.Event) -> None:
        """A fleet member: an agent (the same pipeline, scheduler and API on its share of
        the checks), a judge candidate, or both (`daemon.role`).

        An agent starts holding nothing; its loop (monitord/fleet/agent.py) claims
        its share and adds those checks to the scheduler. A clean stop hands
        every check over at once, after their evidence is written.
        """
        cfg = self.config
        await self.store.open()  # the judged record, read only; the database must answer now
        sip = SipTransports()
        snmp = SnmpClient()
        runner: web.AppRunner | None = None
        try:
            writer = await fleet.open()
            pipeline = None
            if writer is not None:
                pipeline = self.pipeline = Pipeline(
                    [], [], writer, ResumeState(), self.sinks.all, site=cfg.daemon.site,
                    maintenance=cfg.maintenance)
            runner = await self._serve_http(pipeline)
            sup = self.supervisor
            if writer is not None and pipeline is not None:
                await writer.start_run(datetime.now(UTC))
                await pipeline.resume(datetime.now(UTC))
                await sip.start()
                self._attach(fleet, pipeline, sip, snmp)
                sup.start("upkeep", lambda: self._upkeep(pipeline))
                sup.start("maintenance-clock", lambda: self._clock(pipeline))
            log.info("started", site=cfg.daemon.site, location=fleet.location, agent=fleet.agent,
                     role=fleet.role, checks=len(self.checks),
                     listen=f"{cfg.daemon.listen_address[0]}:{self.port}", storage=fleet.db.where)
            _settle_heap()
            _favour_the_loop()
            sup.start("sla-metrics", self.sla_metrics.run)
            for name, factory in [*self.sinks.tasks, *fleet.tasks()]:
                sup.start(name, factory)
            self._ready.set()
            await stop.wait()
            await self._stop_probing()
            await sup.stop("fleet-agent")
            await sup.stop("fleet-judge")
            await fleet.leave()
            await sup.stop_all()
            if writer is not None:
                await writer.stop_run(datetime.now(UTC))
            log.info("stopped", journal_waiting=writer.waiting if writer is not None else 0)
        finally:
            if self._settle is not None:
                self._settle.cancel()
            if runner is not None:
                await runner.cleanup()
            await sip.close()
            await snmp.close()
            await fleet.close()
            await self.store.close()

    def _attach(self, fleet: Fleet, pipeline: Pipeline, sip: SipTransports,
                snmp: SnmpClient) -> None:
        """The agent's scheduler starts empty; the agent loop adds and removes its checks."""
        probes = self._probes = ProbeContext(sip=sip, snmp=snmp,
                                             dns=dns_resolver(self.config.daemon.dns))
        scheduler = self._scheduler = self._schedule(pipeline, [])
        drain = max((c.timeout for c in self.checks), default=1.0) + 1.0

        def start_jobs(checks: Sequence[EffectiveCheck]) -> None:
            for c in checks:
                scheduler.add(c.name, c.interval,
                              self._job(pipeline, c.name, build_probe(c, probes), c.timeout))
            self._settle_later(checks)

        fleet.attach(pipeline, start_jobs, lambda names: scheduler.remove(names, drain))
        self.supervisor.start("scheduler", scheduler.run)

    async def _build_pipeline(self) -> Pipeline:
        reader = self.store
        snapshots = await reader.load_check_snapshots()
        open_services = {
            d.name: d.start for d in await reader.downtimes(level="service") if d.end is None
        }
        self.metrics.declare(
            [(c.name, c.type) for c in self.checks], [s.name for s in self.config.services],
            await reader.closed_downtime_seconds(),
        )
        self.metrics.unmonitored_seconds = sum(
            (g.end - g.start).total_seconds() for g in await reader.gaps()
        )
        resume = ResumeState(
            snapshots=snapshots,
            open_services=open_services,
            open_quality=await reader.quality_intervals(open_only=True),
            windows=await reader.maintenance_windows(),
        )
        return Pipeline(self.checks, self.config.services, self.store, resume, self.sinks.all,
                        site=self.config.daemon.site, maintenance=self.config.maintenance)

    def _schedule(self, pipeline: Pipeline, checks: list[EffectiveCheck]) -> Scheduler:
        assert self._probes is not None
        jobs = [
            (c.name, c.interval, self._job(pipeline, c.name, build_probe(c, self._probes),
                                           c.timeout))
            for c in checks
        ]
        self._settle_later(checks)
        limit = self.config.daemon.max_concurrency
        if limit is not None and limit < len(checks):
            log.warning("max_concurrency_below_checks", max_concurrency=limit, checks=len(checks),
                        problem=f"daemon.max_concurrency {limit} is below the {len(checks)}"
                        " checks: when more probes than that wait out their timeout at once"
                        " (a site cut off), the others start late or skip their slot;"
                        " leave it unset unless the host cannot hold that many")
        return Scheduler(jobs, max_concurrency=limit, observer=self.metrics)

    def _settle_later(self, checks: Sequence[EffectiveCheck]) -> None:
        """Settle the heap again once these (new) checks have all run once."""
        if not checks:
            return
        if self._settle is not None:
            self._settle.cancel()
        settle = partial(_settle_heap, young_only=True)
        self._settle = asyncio.get_running_loop().call_later(_settle_round(checks), settle)

    async def _stop_probing(self) -> None:
        """Stop starting probes and wait for those in flight, so their results are recorded."""
        scheduler = self._scheduler
        if scheduler is None:
            return
        scheduler.stop()
        await scheduler.drain(timeout=max((c.timeout for c in self.checks), default=1.0) + 1.0)
        await self.supervisor.stop("scheduler")

    async def reload(self, path: Path | None = None) -> Reconfigured:
        """Read the config again; apply it only if it is valid and needs no restart.

        A bad file raises ConfigError and changes nothing: the old config keeps
        running. Probing pauses for the in-flight probes to finish (no result is
        lost), the pipeline takes the new checks and services (what that does to
        the record: monitord/core/reconfigure.py), and probing resumes.
        """
        async with self._reloading:
            source = path or self.config_path
            try:
                if source is None:
                    raise ConfigError("reload", ["the daemon was not started from a config file"])
                new = load_config(source, require_checks=True)
                restart = restart_needed(self.config, new)
                if restart:
                    raise ConfigError(str(source), [
                        f"{field} changed: restart monitord to apply it (reload applies checks,"
                        " services, SLA policies, calendars and maintenance)" for field in restart])
            except ConfigError as exc:
                self.metrics.reloaded(False)
                log.error("config_reload_failed", source=str(source), problems=exc.problems)
                raise
            if self.fleet is not None:
                self.metrics.reloaded(False)
                raise ConfigError(str(source), [
                    "a fleet agent does not reload: its location's agents must run one config;"
                    " roll the new file out and restart them one by one (docs/fleet.md)"])
            pipeline = self.pipeline
            if pipeline is None or self._scheduler is None:
                raise ConfigError(str(source), ["the daemon is not running yet: retry"])
            checks = effective_checks(new)
            await self._stop_probing()
            try:
                committed = await pipeline.reconfigure(checks, new.services, new.maintenance,
                                                       datetime.now(UTC))
                self.config, self.checks = new, checks
                self.sla.reconfigure(new)
            finally:
                self._scheduler = self._schedule(pipeline, self.checks)
                self.supervisor.start("scheduler", self._scheduler.run)
            self.metrics.reloaded(True)
            return next(e for e in committed.events if isinstance(e, Reconfigured))

    def _load(self) -> Load:
        """How the running scheduler keeps up (a reload replaces the scheduler)."""
        if self._scheduler is None:
            raise RuntimeError("no scheduler yet")
        return self._scheduler.load

    def request_reload(self) -> None:
        """SIGHUP: reload in the background; the outcome is logged and exported."""
        async def run() -> None:
            with contextlib.suppress(ConfigError):
                await self.reload()

        task = asyncio.get_running_loop().create_task(run(), name="reload")
        self._reload_tasks.add(task)
        task.add_done_callback(self._reload_tasks.discard)

    def _job(
        self, pipeline: Pipeline, name: str, probe: Probe, timeout: float
    ) -> Callable[[float], Awaitable[None]]:
        assert self._probes is not None
        nets = self._probes.nets

        async def job(_slot: float) -> None:
            at, result, duration = await run_probe(probe, timeout, nets)
            await pipeline.observe(name, at, result, duration)

        return job

    async def _serve_http(self, pipeline: Pipeline | None) -> web.AppRunner:
        host, port = self.config.daemon.listen_address
        cfg_token = self.config.daemon.api_token_file  # bearer token for the write endpoints
        app = build_app(
            ApiContext(
                live=self.sinks.live,
                store=self.store,
                metrics=self.metrics,
                site=self.config.daemon.site,
                started=time.monotonic(),
                health=self.health,
                sla=SlaApi(self.sla, cfg_token.get() if cfg_token else None,
                           pipeline if self.fleet is None and pipeline is not None
                           else _NoRuntimeWindows()),
                reloader=self,
                quality=self.sinks.budgets.quality,
                fleet=self.fleet,
                metric_labels={} if self.fleet is None else {
                    "location": self.fleet.location, "site": self.config.daemon.site},
            )
        )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise OSError(
                exc.errno, f"cannot listen on {host}:{port} (daemon.listen): {exc.strerror}"
            ) from exc
        self.port = int(runner.addresses[0][1])
        return runner

    async def _upkeep(self, pipeline: Pipeline) -> None:
        """Heartbeat (so a crash leaves an honest gap) and retries of the write backlog."""
        interval = self.config.daemon.heartbeat_interval
        loop = asyncio.get_running_loop()
        next_beat = loop.time() + interval
        while True:
            await asyncio.sleep(min(UPKEEP_EVERY, interval))
            now = datetime.now(UTC)
            if self._scheduler is not None:  # a warning, not a 503: monitoring goes on
                self.health.warn("scheduler", self._scheduler.load.warning)
            if loop.time() >= next_beat:
                await pipeline.heartbeat(now)
                next_beat = loop.time() + interval
            elif not pipeline.health(now).healthy:
                await pipeline.flush(now)

    async def _clock(self, pipeline: Pipeline) -> None:
        """Maintenance windows start and end by the clock, between probes too."""
        while True:
            await asyncio.sleep(CLOCK_EVERY)
            await pipeline.tick(datetime.now(UTC))


class _NoRuntimeWindows:
    """A fleet agent refuses run-time maintenance windows: they would be one location's
    evidence, not the judged record the SLA is computed on (docs/fleet.md)."""

    async def add_maintenance(self, add: MaintenanceAdd) -> MaintenanceRecord:
        raise StoreUnavailableError(
            "a fleet does not take run-time maintenance windows yet: put the window in the"
            " config's maintenance: section and restart the agents")

    async def delete_maintenance(self, delete: MaintenanceDelete) -> MaintenanceRecord | None:
        raise StoreUnavailableError(
            "a fleet does not take run-time maintenance windows yet: edit the config's"
            " maintenance: section and restart the agents")

    async def add_review(self, add: ReviewAdd) -> ReviewRecord:
        raise StoreUnavailableError(
            "a fleet agent does not take incident reviews yet: they belong on the judged"
            " record; review with `monitord review` against a single-site daemon")


def restart_needed(old: Config, new: Config) -> list[str]:
    """Sections a reload cannot apply to a running daemon (sockets, the store, delivery)."""
    out = [f"daemon.{name}" for name in type(old.daemon).model_fields
           if getattr(old.daemon, name) != getattr(new.daemon, name)]
    out += [name for name in ("alertmanager", "mqtt") if getattr(old, name) != getattr(new, name)]
    return out
