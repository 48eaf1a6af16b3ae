"""The application object: builds every part from the config and runs them.

Start-up order matters for the SLA record: the store records the gap since
the previous run (the daemon's own downtime is unmonitored time, never
silently up) and hands back the state to resume (open intervals, streak
counters) before the first probe runs. Shutdown waits for in-flight probes so
their results are recorded, then marks a clean stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import structlog
from aiohttp import web

from monitord.config.load import effective_checks
from monitord.config.models import Config
from monitord.config.secrets import secret_warnings
from monitord.config.snmp import snmp_warnings
from monitord.core.announce import Announcer
from monitord.core.events import CheckState
from monitord.core.pipeline import Pipeline, ProbeOutcome
from monitord.core.runner import ProbeContext, build_probe, dns_resolver, run_probe
from monitord.core.scheduler import Scheduler
from monitord.http.api import ApiContext, build_app
from monitord.http.sla import SlaApi
from monitord.sinks.alertmanager import AlertmanagerSink, InMaintenance
from monitord.sinks.budgets import QualitySink
from monitord.sinks.callquality import CallQualitySink
from monitord.sinks.calls import CallSink
from monitord.sinks.logs import LogSink
from monitord.sinks.metrics import Metrics
from monitord.sinks.snmp import SnmpSink
from monitord.sinks.wiring import AsyncSink, build_alerting
from monitord.sla.gauges import SlaMetrics
from monitord.sla.runtime import SlaRuntime
from monitord.storage.base import Store
from monitord.storage.sqlite import SqliteStore
from probes.base import Probe
from probes.sip.transport import SipTransports
from probes.snmp.client import SnmpClient

log = structlog.get_logger("monitord.daemon")

PRUNE_EVERY = 3600.0
SAMPLE_FLUSH_EVERY = 5.0


def _settle_heap() -> None:
    """Keep the cyclic GC off the probe hot path.

    Everything built at start-up (config models, pydantic schemas, probes,
    metric children) lives as long as the daemon; a full collection walking
    it paused the loop for ~100 ms with a few thousand checks, which showed
    up directly as scheduling lateness. Freezing moves it out of the GC's
    view. (A larger gen-0 threshold was tried and made each young
    collection slower: the default stays.)
    """
    gc.collect()
    gc.freeze()


class _MetricsSink:
    def __init__(self, metrics: Metrics) -> None:
        self._m = metrics

    def outcome(self, o: ProbeOutcome) -> None:
        self._m.probe_done(o.check.name, o.check.type, o.result, o.duration, o.after)
        if o.check_events or o.service_events:
            self._m.events(o.check_events, o.service_events)


class Daemon:
    def __init__(self, config: Config, *, store: Store | None = None) -> None:
        self.config = config
        self.checks = effective_checks(config)
        storage = Path(config.daemon.storage)
        # MQTT publishes from the store's outbox; without MQTT no rows pile up unread
        self.store: Store = store or SqliteStore(storage, outbox=config.mqtt is not None)
        self._storage_path = storage
        self.metrics = Metrics(config.daemon.site)
        self._quality = QualitySink(self.metrics.registry, self.checks)
        self.port: int | None = None  # bound HTTP port, once listening
        self._problem: str | None = None
        self._ready = asyncio.Event()
        self._alerting: list[AsyncSink] = []
        # Configured and API-created maintenance windows; in them alerts are suppressed
        # while probes keep running and failures are recorded (planned downtime).
        self.sla = SlaRuntime(config, self.store)
        self.sla_metrics = SlaMetrics(self.sla, self.metrics.registry)  # refreshed by run()
        self.in_maintenance: InMaintenance | None = self.sla.in_maintenance
        # reboots and maintenance starts/ends as stored events for MQTT (core/announce.py)
        self.announcer = Announcer(
            self.store, config.daemon.site, self.sla.maintenance_config,
            [s.name for s in config.services],
        )
        self.sla.on_windows_changed = self.announcer.windows_changed

    async def wait_ready(self) -> None:
        await self._ready.wait()

    async def run(self, stop: asyncio.Event) -> None:
        cfg = self.config
        if isinstance(self.store, SqliteStore):
            self._storage_path.parent.mkdir(parents=True, exist_ok=True)
        await self.store.open()
        await self.sla.load()  # stored windows, before any alert can ask about them
        sip = SipTransports()
        snmp = SnmpClient()  # one SnmpEngine for every SNMP check; socket opened on first use
        runner: web.AppRunner | None = None
        try:
            now = datetime.now(UTC)
            gap = await self.store.start_run(now)
            if gap is not None:
                log.warning(
                    "unmonitored_gap",
                    start=gap.start.isoformat(),
                    end=gap.end.isoformat(),
                    seconds=round((gap.end - gap.start).total_seconds(), 3),
                    cause=gap.cause,
                )
            # windows that started or ended while no daemon ran are announced late
            self.announcer.resume_from(gap.start if gap is not None else None, now)
            pipeline = await self._build_pipeline(now)
            for alerting in self._alerting:
                await alerting.start()
            await sip.start()
            ctx = ProbeContext(sip=sip, snmp=snmp, dns=dns_resolver(cfg.daemon.dns))
            jobs = [
                (c.name, c.interval, self._job(pipeline, c.name, build_probe(c, ctx), c.timeout))
                for c in self.checks
            ]
            scheduler = Scheduler(
                jobs, max_concurrency=cfg.daemon.max_concurrency, observer=self.metrics
            )
            runner = await self._serve_http(pipeline)
            log.info(
                "started",
                site=cfg.daemon.site,
                checks=len(self.checks),
                services=len(cfg.services),
                listen=f"{cfg.daemon.listen_address[0]}:{self.port}",
                storage=str(self._storage_path),
            )
            _settle_heap()
            for warning in secret_warnings(cfg):
                log.warning("secret_file_permissions", problem=warning)
            for warning in snmp_warnings(cfg.checks):
                log.warning("snmp_weak_protocol", problem=warning)
            self._ready.set()
            sched_task = asyncio.create_task(scheduler.run(), name="scheduler")
            upkeep = asyncio.create_task(self._upkeep(pipeline, sched_task), name="upkeep")
            sla_task = asyncio.create_task(self.sla_metrics.run(), name="sla-metrics")
            stop_wait = asyncio.create_task(stop.wait())
            await asyncio.wait({sched_task, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
            scheduler.stop()
            await scheduler.drain(timeout=max((c.timeout for c in self.checks), default=1.0) + 1.0)
            sla_task.cancel()  # gauges only: nothing to flush
            await asyncio.gather(sla_task, return_exceptions=True)
            for task in (sched_task, upkeep, stop_wait):
                task.cancel()
            results = await asyncio.gather(sched_task, upkeep, stop_wait, return_exceptions=True)
            crashed = [r for r in results if isinstance(r, Exception)]
            await pipeline.flush_samples()
            await self.store.stop_run(datetime.now(UTC))
            log.info("stopped", clean=not crashed)
            if crashed:
                raise crashed[0]
        finally:
            if runner is not None:
                await runner.cleanup()
            await sip.close()
            await snmp.close()
            for alerting in self._alerting:  # before the store closes: MQTT reads its outbox
                await alerting.stop()
            await self.store.close()

    async def _build_pipeline(self, now: datetime) -> Pipeline:
        snapshots = await self.store.load_check_snapshots()
        open_services = {
            d.name: d.start for d in await self.store.downtimes(level="service") if d.end is None
        }
        closed = await self.store.closed_downtime_seconds()
        self.metrics.declare(
            [(c.name, c.type) for c in self.checks], [s.name for s in self.config.services], closed
        )
        self.metrics.unmonitored_seconds = sum(
            (g.end - g.start).total_seconds() for g in await self.store.gaps()
        )
        for name, snap in snapshots.items():
            if name in self.metrics.check_downtime:
                self.metrics.set_state(name, snap.state)
                self.metrics.consecutive_failures.labels(name).set(snap.consecutive_failures)
                if snap.state is CheckState.DOWN and snap.downtime_start is not None:
                    self.metrics.check_downtime[name].opened(snap.downtime_start)
        services_of: dict[str, list[str]] = {}
        for svc in self.config.services:
            for check in svc.checks:
                services_of.setdefault(check, []).append(svc.name)
        self._alerting = build_alerting(
            self.config, self.store, snapshots, open_services, services_of, self.in_maintenance,
            announcer=self.announcer, registry=self.metrics.registry,
        )
        # XTIUM call-quality priorities; started and stopped with the alert providers
        # because it writes its intervals (and outbox rows) to the store in the background
        # its priority changes drive the MonitordCallQuality alert (P1 -> critical)
        quality_alerts = [s.quality_changed for s in self._alerting
                          if isinstance(s, AlertmanagerSink)]
        self._alerting.append(
            CallQualitySink(self.metrics.registry, self.checks, self.config.services, self.store,
                            quality_alerts)
        )
        pipeline = Pipeline(
            self.checks,
            self.config.services,
            self.store,
            snapshots,
            open_services,
            sinks=[
                _MetricsSink(self.metrics),
                LogSink(services_of),
                SnmpSink(self.metrics.registry, self.checks, self.announcer.reboot),
                CallSink(self.metrics.registry, self.checks),
                self._quality,
                *self._alerting,
            ],
        )
        for svc in self.config.services:
            start = open_services.get(svc.name)
            if start is not None:
                self.metrics.service_downtime[svc.name].opened(start)
                self.metrics.service_up.labels(svc.name).set(0)
        await pipeline.reconcile(now)
        return pipeline

    def _job(
        self, pipeline: Pipeline, name: str, probe: Probe, timeout: float
    ) -> Callable[[float], Awaitable[None]]:
        async def job(_slot: float) -> None:
            at, result, duration = await run_probe(probe, timeout)
            try:
                await pipeline.observe(name, at, result, duration)
            except Exception as exc:
                self._problem = f"recording a probe result failed: {exc}"
                log.exception("record_failed", check=name)
                raise

        return job

    async def _serve_http(self, pipeline: Pipeline) -> web.AppRunner:
        host, port = self.config.daemon.listen_address
        cfg_token = self.config.daemon.api_token_file  # bearer token for the write endpoints
        app = build_app(
            ApiContext(
                pipeline=pipeline,
                store=self.store,
                metrics=self.metrics,
                site=self.config.daemon.site,
                started=time.monotonic(),
                healthy=lambda: self._problem,
                sla=SlaApi(self.sla, cfg_token.get() if cfg_token else None),
                quality=self._quality.quality,
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

    async def _upkeep(self, pipeline: Pipeline, sched_task: asyncio.Task[None]) -> None:
        """Heartbeat (so a crash leaves an honest gap), rollup flushes and pruning."""
        interval = self.config.daemon.heartbeat_interval
        next_beat = next_prune = 0.0
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(SAMPLE_FLUSH_EVERY, interval))
            if sched_task.done():
                self._problem = "the scheduler stopped"
            try:
                await pipeline.flush_samples()
                if loop.time() >= next_beat:
                    await self.store.heartbeat(datetime.now(UTC))
                    next_beat = loop.time() + interval
                if loop.time() >= next_prune:
                    with contextlib.suppress(Exception):
                        await self.store.prune(datetime.now(UTC))
                    next_prune = loop.time() + PRUNE_EVERY
                if self._problem and not sched_task.done():
                    self._problem = None  # the store answers again
            except Exception as exc:
                self._problem = f"store: {exc}"
                log.exception("upkeep_failed")
