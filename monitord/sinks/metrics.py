"""Prometheus exposition: every name prefixed `monitord_`, base units only.

One registry per daemon (no module-level singletons), so tests can run
several daemons in one process. It adds `site` to every series
(monitord/sinks/exposition.py), as the alerts the daemon pushes carry it. Downtime seconds are counters that grow while
an interval is open and never go backwards, so `increase()` works in
Prometheus; the store, not this counter, is authoritative for reports.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from prometheus_client import (
    Counter,
    Gauge,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from monitord import __version__
from monitord.core.events import (
    CHECK_EVENTS,
    SERVICE_EVENTS,
    CheckEvent,
    CheckSnapshot,
    CheckState,
    DowntimeClosed,
    DowntimeOpened,
    MaintenanceEnded,
    MaintenanceStarted,
    ServiceDowntimeClosed,
    ServiceDowntimeOpened,
    ServiceDowntimeRecorded,
    ServiceEvent,
)
from monitord.core.stream import Committed, Reconfigured, RecordHealth, Resumed
from monitord.sinks.checkseries import CheckSeries, CheckSeriesCollector
from monitord.sinks.exposition import ConstantLabelRegistry
from monitord.storage.records import Level
from probes.base import ProbeResult
from probes.measurements import SipMeasured

PROBE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LATENESS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)


class DowntimeCounter:
    """Monotonic downtime seconds for one check or service."""

    __slots__ = ("counted_until", "open_start", "total")

    def __init__(self, total: float = 0.0) -> None:
        self.total = total
        self.open_start: datetime | None = None
        self.counted_until: datetime | None = None

    def _add(self, start: datetime, until: datetime) -> None:
        lo = max(start, self.counted_until) if self.counted_until else start
        if until > lo:
            self.total += (until - lo).total_seconds()
        if self.counted_until is None or until > self.counted_until:
            self.counted_until = until

    def opened(self, start: datetime) -> None:
        self.open_start = start

    def closed(self, start: datetime, end: datetime) -> None:
        self._add(self.open_start or start, end)
        self.open_start = None

    def past(self, start: datetime, end: datetime) -> None:
        """An interval revealed after it ended (a late, backdated confirmation):
        counted whole, leaving any open interval alone."""
        if end > start:
            self.total += (end - start).total_seconds()

    def value(self, now: datetime) -> float:
        if self.open_start is not None:
            self._add(self.open_start, now)
        return self.total


class _DowntimeCollector(Collector):
    """Service downtime and unmonitored seconds (few series: the generic path is fine)."""

    def __init__(self, metrics: Metrics) -> None:
        self._m = metrics

    def collect(self) -> Iterable[Metric]:
        with self._m.lock:  # scrapes render in a worker thread
            return list(self._families())

    def _families(self) -> Iterable[Metric]:
        now = datetime.now(UTC)
        family = CounterMetricFamily(
            "monitord_service_downtime_seconds",
            "Seconds of recorded service downtime (open intervals included, backdated to"
            " the first failed probe).",
            labels=["service"],
        )
        for name, counter in sorted(self._m.service_downtime.items()):
            family.add_metric([name], counter.value(now))
        yield family
        gaps = CounterMetricFamily(
            "monitord_unmonitored_seconds",
            "Seconds nobody watched (the daemon not running), summed over the recorded gaps.",
        )
        gaps.add_metric([], self._m.unmonitored_seconds)
        yield gaps

    def describe(self) -> Iterable[Metric]:
        return []


class Metrics:
    def __init__(self, site: str, labels: Mapping[str, str] | None = None) -> None:
        """`site`, and any further deployment `labels`, go on every series."""
        # `_created` series double the exposition for little use; the daemon owns its process.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.lock = threading.Lock()
        self.registry = ConstantLabelRegistry({**(labels or {}), "site": site})
        r = self.registry
        info = Gauge("monitord_build_info", "Build information.", ["version"], registry=r)
        info.labels(__version__).set(1)
        Gauge("monitord_start_time_seconds", "Daemon start, Unix time.", registry=r).set(
            time.time()
        )
        self.check_downtime: dict[str, DowntimeCounter] = {}
        self.checks = CheckSeriesCollector(PROBE_BUCKETS, LATENESS_BUCKETS, self.lock,
                                           self._check_downtime_now)
        self.service_up = Gauge(
            "monitord_service_up", "1 unless the service is down.", ["service"], registry=r
        )
        self.record_waiting = Gauge(
            "monitord_record_backlog_entries",
            "Changes waiting for the store (0 while it keeps up); /healthz fails until 0.",
            registry=r,
        )
        self.record_failing = Gauge(
            "monitord_record_store_failing",
            "1 while commits to the store fail (disk full, I/O error...).",
            registry=r,
        )
        self.record_frozen = Gauge(
            "monitord_record_frozen",
            "1 while the record takes no news (backlog bound reached): an unmonitored gap.",
            registry=r,
        )
        self.reload_ok = Gauge(
            "monitord_config_last_reload_successful",
            "1 if the last config reload (SIGHUP, POST /api/v1/reload) was applied, 0 if it was"
            " rejected (the previous config keeps running).",
            registry=r,
        )
        self.reload_ok.set(1)
        self.reload_time = Gauge(
            "monitord_config_last_reload_success_timestamp_seconds",
            "When the running config was loaded (start or reload), Unix time.",
            registry=r,
        )
        self.reload_time.set(time.time())
        self.task_restarts = Counter(
            "monitord_task_restarts",
            "Background tasks restarted after they crashed (traceback in the log).",
            ["task"],
            registry=r,
        )
        self.maintenance_active = Gauge(
            "monitord_maintenance_active",
            "1 while the service is in an announced maintenance window (alerts suppressed).",
            ["service"],
            registry=r,
        )
        self._maintenance: dict[str, set[str]] = {}
        self.service_downtime: dict[str, DowntimeCounter] = {}
        self.unmonitored_seconds = 0.0
        self._series = self.checks.series
        r.register(self.checks)
        r.register(_DowntimeCollector(self))

    def _check_downtime_now(self) -> list[tuple[str, float]]:
        """(check, downtime seconds) at this scrape; called under `lock`."""
        now = datetime.now(UTC)
        return [(name, counter.value(now)) for name, counter in sorted(self.check_downtime.items())]

    def render(self, labels: Mapping[str, str] | None = None) -> bytes:
        """The /metrics body; `labels` (a fleet agent's location) go on every sample too."""
        return self.registry.render(labels or {})

    def declare(
        self,
        checks: Sequence[tuple[str, str]],
        services: Sequence[str],
        closed: Mapping[tuple[Level, str], float],
    ) -> None:
        """Create every series up front so dashboards show zeros, not gaps."""
        for name, kind in checks:
            self._series[name] = CheckSeries(name, kind)
            self.check_downtime[name] = DowntimeCounter(closed.get(("check", name), 0.0))
        for name in services:
            self.service_up.labels(name).set(1)
            self.maintenance_active.labels(name).set(0)
            self.service_downtime[name] = DowntimeCounter(closed.get(("service", name), 0.0))

    def reconfigure(self, checks: Sequence[tuple[str, str]], services: Sequence[str],
                    removed: Sequence[str]) -> None:
        """A reload: series for new checks and services; a removed check's gauges go (its
        counters stay, so rate() over the reload is right)."""
        with self.lock:
            for name in removed:
                if self._series.pop(name, None) is not None:
                    self.check_downtime.pop(name, None)
            new_checks = [(n, k) for n, k in checks if n not in self._series]
            new_services = [s for s in services if s not in self.service_downtime]
        self.declare(new_checks, new_services, {})

    def set_state(self, check: str, state: CheckState) -> None:
        series = self._series.get(check)
        if series is not None:
            series.state = state
            series.alerting = 1 if state in (CheckState.ALERTING, CheckState.DOWN) else 0

    def maintenance(self, ev: MaintenanceStarted | MaintenanceEnded) -> None:
        running = self._maintenance.setdefault(ev.service, set())
        if isinstance(ev, MaintenanceStarted):
            running.add(ev.key)
        else:
            running.discard(ev.key)
        self.maintenance_active.labels(ev.service).set(1 if running else 0)

    def reloaded(self, ok: bool) -> None:
        self.reload_ok.set(1 if ok else 0)
        if ok:
            self.reload_time.set(time.time())

    # Supervisor's RestartObserver
    def task_restarted(self, name: str) -> None:
        self.task_restarts.labels(name).inc()

    # SchedulerObserver
    def lateness(self, seconds: float) -> None:
        self.checks.lateness.observe(seconds)

    def skipped(self, key: str, slots: int) -> None:
        series = self._series.get(key)
        if series is not None:
            series.skipped += slots

    def job_failed(self, key: str, exc: BaseException) -> None:
        series = self._series.get(key)
        if series is not None:
            series.errors += 1

    def probe_done(
        self, check: str, kind: str, result: ProbeResult, duration: float, snap: CheckSnapshot
    ) -> None:
        series = self._series.get(check)
        if series is None:
            series = self._series[check] = CheckSeries(check, kind)
        if result.inconclusive:  # our own lateness: says nothing about the target
            series.inconclusive += 1
            return
        if result.ok:
            series.success = 1.0
            series.ok += 1
        else:
            series.success = 0.0
            series.failed += 1
        series.seconds += duration
        series.last_duration = duration
        self.checks.histogram(kind).observe(duration)
        if result.reason is not None:
            reason = result.reason.value
            series.failures[reason] = series.failures.get(reason, 0) + 1
        m = result.measured
        if isinstance(m, SipMeasured) and (code := m.status) is not None:
            series.responses[code] = series.responses.get(code, 0) + 1
        series.consecutive = snap.consecutive_failures
        if snap.state is not series.state:
            self.set_state(check, snap.state)

    def events(
        self, check_events: Sequence[CheckEvent], service_events: Sequence[ServiceEvent]
    ) -> None:
        with self.lock:
            self._events(check_events, service_events)

    def _events(
        self, check_events: Sequence[CheckEvent], service_events: Sequence[ServiceEvent]
    ) -> None:
        for ev in check_events:
            counter = self.check_downtime.setdefault(ev.check, DowntimeCounter())
            if isinstance(ev, DowntimeOpened):
                counter.opened(ev.start)
            elif isinstance(ev, DowntimeClosed):
                counter.closed(ev.start, ev.end)
        for sev in service_events:
            counter = self.service_downtime.setdefault(sev.service, DowntimeCounter())
            if isinstance(sev, ServiceDowntimeRecorded):  # a past interval, not the state now
                counter.past(sev.start, sev.end)
            elif isinstance(sev, ServiceDowntimeOpened):
                counter.opened(sev.start)
                self.service_up.labels(sev.service).set(0)
            elif isinstance(sev, ServiceDowntimeClosed):
                counter.closed(sev.start, sev.end)
                self.service_up.labels(sev.service).set(1)



class MetricsSink:
    """Feeds the stream into `Metrics`: probe series, downtime counters, record health."""

    def __init__(self, metrics: Metrics) -> None:
        self._m = metrics

    def consume(self, c: Committed) -> None:
        m = self._m
        if c.probe is not None:
            o = c.probe
            m.probe_done(o.check.name, o.check.type, o.result, o.duration, o.after)
        if not c.events:
            return  # most commits: one probe, nothing happened
        check_events: list[CheckEvent] = []
        service_events: list[ServiceEvent] = []
        for ev in c.events:
            if isinstance(ev, CHECK_EVENTS):
                check_events.append(ev)
            elif isinstance(ev, SERVICE_EVENTS):
                service_events.append(ev)
            elif isinstance(ev, Resumed):
                self._resume(ev)
            elif isinstance(ev, MaintenanceStarted | MaintenanceEnded):
                m.maintenance(ev)
            elif isinstance(ev, Reconfigured):
                m.reconfigure([(ch.name, ch.type) for ch in ev.checks],
                              [s.name for s in ev.services], ev.removed)
            elif isinstance(ev, RecordHealth):
                m.record_waiting.set(ev.waiting)
                m.record_failing.set(0 if ev.failing_since is None else 1)
                m.record_frozen.set(0 if ev.lost_since is None else 1)
        if check_events or service_events:
            m.events(check_events, service_events)

    def _resume(self, ev: Resumed) -> None:
        m = self._m
        for name, snap in ev.snapshots.items():
            if name in m.check_downtime:
                m.set_state(name, snap.state)
                series = m.checks.series.get(name)
                if series is not None:
                    series.consecutive = snap.consecutive_failures
                if snap.state is CheckState.DOWN and snap.downtime_start is not None:
                    m.check_downtime[name].opened(snap.downtime_start)
        for service, start in ev.open_services.items():
            if service in m.service_downtime:
                m.service_downtime[service].opened(start)
                m.service_up.labels(service).set(0)
