"""Prometheus exposition: every name prefixed `monitord_`, base units only.

One registry per daemon (no module-level singletons), so tests can run
several daemons in one process. It adds `site` to every series
(monitord/sinks/exposition.py), as the alerts the daemon pushes carry it. Downtime seconds are counters that grow while
an interval is open and never go backwards, so `increase()` works in
Prometheus; the store, not this counter, is authoritative for reports.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
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
    def __init__(self, metrics: Metrics) -> None:
        self._m = metrics

    def collect(self) -> Iterable[Metric]:
        with self._m.lock:  # scrapes render in a worker thread
            return list(self._families())

    def _families(self) -> Iterable[Metric]:
        now = datetime.now(UTC)
        for level, counters in (
            ("check", self._m.check_downtime),
            ("service", self._m.service_downtime),
        ):
            family = CounterMetricFamily(
                f"monitord_{level}_downtime_seconds",
                f"Seconds of recorded {level} downtime (open intervals included, backdated to"
                " the first failed probe).",
                labels=[level],
            )
            for name, counter in sorted(counters.items()):
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


class _CheckSeries:
    """A check's labelled children, resolved once: `labels()` is too slow per probe."""

    def __init__(self, m: Metrics, check: str, kind: str) -> None:
        self.check = check
        self.kind = kind
        self.success = m.probe_success.labels(check, kind)
        self.duration = m.probe_duration.labels(check, kind)
        self.ok = m.probes.labels(check, kind, "success")
        self.failed = m.probes.labels(check, kind, "failure")
        self.inconclusive = m.probes.labels(check, kind, "inconclusive")
        self.consecutive = m.consecutive_failures.labels(check)
        self.alerting = m.alerts_active.labels(check)
        self.state: CheckState | None = None
        self._children: dict[tuple[int, str], Any] = {}

    def child(self, metric: Counter, value: str) -> Any:
        key = (id(metric), value)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(self.check, value)
        return found


class Metrics:
    def __init__(self, site: str, labels: Mapping[str, str] | None = None) -> None:
        """`site`, and any further deployment `labels`, go on every series."""
        # `_created` series double the exposition for little use; the daemon owns its process.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.lock = threading.Lock()
        self.registry: CollectorRegistry = ConstantLabelRegistry({**(labels or {}), "site": site})
        r = self.registry
        info = Gauge("monitord_build_info", "Build information.", ["version"], registry=r)
        info.labels(__version__).set(1)
        Gauge("monitord_start_time_seconds", "Daemon start, Unix time.", registry=r).set(
            time.time()
        )
        self.probe_success = Gauge(
            "monitord_probe_success",
            "1 if the last probe succeeded.",
            ["check", "type"],
            registry=r,
        )
        self.probe_duration = Histogram(
            "monitord_probe_duration_seconds",
            "Probe duration, success or not.",
            ["check", "type"],
            buckets=PROBE_BUCKETS,
            registry=r,
        )
        self.probes = Counter(
            "monitord_probes", "Probes run, by result.", ["check", "type", "result"], registry=r
        )
        self.failures = Counter(
            "monitord_probe_failures", "Failed probes, by reason.", ["check", "reason"], registry=r
        )
        self.consecutive_failures = Gauge(
            "monitord_check_consecutive_failures",
            "Failed probes in a row.",
            ["check"],
            registry=r,
        )
        self.check_state = Gauge(
            "monitord_check_state",
            "1 for the check's current state.",
            ["check", "state"],
            registry=r,
        )
        self.service_up = Gauge(
            "monitord_service_up", "1 unless the service is down.", ["service"], registry=r
        )
        self.lateness_hist = Histogram(
            "monitord_scheduler_lateness_seconds",
            "How late probes started after their slot (queueing for concurrency included).",
            buckets=LATENESS_BUCKETS,
            registry=r,
        )
        self.skipped_slots = Counter(
            "monitord_scheduler_skipped_slots",
            "Slots skipped because the check's previous probe was still running or the loop was late.",
            ["check"],
            registry=r,
        )
        self.job_errors = Counter(
            "monitord_internal_errors",
            "Unexpected errors while running a check.",
            ["check"],
            registry=r,
        )
        self.sip_responses = Counter(
            "monitord_sip_responses",
            "Final SIP responses, by status code.",
            ["check", "code"],
            registry=r,
        )
        self.alerts_active = Gauge(
            "monitord_check_alerting", "1 while the check's alert is raised.", ["check"], registry=r
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
        self.check_downtime: dict[str, DowntimeCounter] = {}
        self.service_downtime: dict[str, DowntimeCounter] = {}
        self.unmonitored_seconds = 0.0
        self._series: dict[str, _CheckSeries] = {}
        r.register(_DowntimeCollector(self))

    def declare(
        self,
        checks: Sequence[tuple[str, str]],
        services: Sequence[str],
        closed: Mapping[tuple[Level, str], float],
    ) -> None:
        """Create every series up front so dashboards show zeros, not gaps."""
        for name, kind in checks:
            self._series[name] = series = _CheckSeries(self, name, kind)
            series.consecutive.set(0)
            series.alerting.set(0)
            self.check_downtime[name] = DowntimeCounter(closed.get(("check", name), 0.0))
            self.set_state(name, CheckState.UP)
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
                series = self._series.pop(name, None)
                if series is None:
                    continue
                for gauge, labels in ((self.probe_success, (name, series.kind)),
                                      (self.consecutive_failures, (name,)),
                                      (self.alerts_active, (name,))):
                    with contextlib.suppress(KeyError):
                        gauge.remove(*labels)
                for s in CheckState:
                    with contextlib.suppress(KeyError):
                        self.check_state.remove(name, s.value)
                self.check_downtime.pop(name, None)
            new_checks = [(n, k) for n, k in checks if n not in self._series]
            new_services = [s for s in services if s not in self.service_downtime]
        self.declare(new_checks, new_services, {})

    def set_state(self, check: str, state: CheckState) -> None:
        for s in CheckState:
            self.check_state.labels(check, s.value).set(1 if s is state else 0)
        series = self._series.get(check)
        if series is not None:
            series.state = state
            series.alerting.set(1 if state in (CheckState.ALERTING, CheckState.DOWN) else 0)

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
        self.lateness_hist.observe(seconds)

    def skipped(self, key: str, slots: int) -> None:
        self.skipped_slots.labels(key).inc(slots)

    def job_failed(self, key: str, exc: BaseException) -> None:
        self.job_errors.labels(key).inc()

    def probe_done(
        self, check: str, kind: str, result: ProbeResult, duration: float, snap: CheckSnapshot
    ) -> None:
        series = self._series.get(check)
        if series is None:
            series = self._series[check] = _CheckSeries(self, check, kind)
        if result.inconclusive:  # our own lateness: says nothing about the target
            series.inconclusive.inc()
            return
        series.success.set(1 if result.ok else 0)
        series.duration.observe(duration)
        (series.ok if result.ok else series.failed).inc()
        if result.reason is not None:
            series.child(self.failures, result.reason.value).inc()
        m = result.measured
        if isinstance(m, SipMeasured) and m.status is not None:
            series.child(self.sip_responses, str(m.status)).inc()
        series.consecutive.set(snap.consecutive_failures)
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
                m.consecutive_failures.labels(name).set(snap.consecutive_failures)
                if snap.state is CheckState.DOWN and snap.downtime_start is not None:
                    m.check_downtime[name].opened(snap.downtime_start)
        for service, start in ev.open_services.items():
            if service in m.service_downtime:
                m.service_downtime[service].opened(start)
                m.service_up.labels(service).set(0)
