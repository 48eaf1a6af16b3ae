"""SLA figures for Prometheus: availability and error budget per window, maintenance, SLO counters.

Why a periodic task: a report sweeps a year of intervals, far too much work
for a scrape (or the probe loop), so every `SLA_METRICS_EVERY` seconds the
engine computes each service's reports (the sweep in a worker thread, via
`SlaRuntime.report`) and scrapes read the cached values. Nothing is
recomputed here: every value is a field of the engine's Report.

Windows: `month_to_date` and `rolling_12_months` for every service with a
policy, `contract_year` for policies with a `contract_start`. The policy's
own rules apply (maintenance, calendar, unmonitored treatment, priorities);
only the period is the window's.

The counters `monitord_service_good_seconds_total` and
`monitord_service_measured_seconds_total` are the measured seconds that were
available and the measured seconds, since the start of the current
contract year (calendar year without a contract), so Sloth/Pyrra-style rules
(`1 - rate(good)/rate(measured)`) work directly. They reset to zero when a new
year starts, which `rate()` treats as the counter reset it is; and they never
go backwards within a year: a window announced later that takes time out of
the measured period leaves the counters where they were until they pass it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction

import structlog
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitord.sla.config import SlaPolicy
from monitord.sla.runtime import SlaRuntime

log = structlog.get_logger("monitord.sla.gauges")

SLA_METRICS_EVERY = 60.0
WINDOWS = ("month_to_date", "rolling_12_months", "contract_year")
_PERIOD = {"month_to_date": "month", "rolling_12_months": "rolling_12_months"}


@dataclass(frozen=True, slots=True)
class _Counter:
    period_start: datetime
    good: float
    total: float


def window_policy(policy: SlaPolicy, window: str) -> SlaPolicy | None:
    """The policy with the window's period, or None (contract_year without contract_start)."""
    if window == "contract_year":
        if policy.contract_start is None:
            return None
        return policy.model_copy(update={"period": "contract_year"})
    return policy.model_copy(update={"period": _PERIOD[window]})


def counter_policy(policy: SlaPolicy) -> SlaPolicy:
    period = "contract_year" if policy.contract_start is not None else "year"
    return policy.model_copy(update={"period": period})


class SlaMetrics(Collector):
    """Cached SLA values, refreshed by `run()`, read by scrapes (in a worker thread)."""

    def __init__(self, runtime: SlaRuntime, registry: CollectorRegistry) -> None:
        self._runtime = runtime
        self._lock = threading.Lock()
        self._ratio: dict[tuple[str, str], float] = {}
        self._budget: dict[tuple[str, str], float] = {}
        self._counters: dict[str, _Counter] = {}
        registry.register(self)

    def _services(self) -> list[tuple[str, SlaPolicy]]:
        return [
            (name, self._runtime.setup.policy(svc.sla_policy))
            for name, svc in self._runtime.services.items()
            if svc.sla_policy is not None
        ]

    async def refresh(self, now: datetime) -> None:
        """Recompute every service's windows as of `now` (one service failing does not stop the rest)."""
        for service, policy in self._services():
            try:
                await self._refresh_service(service, policy, now)
            except Exception:
                log.exception("sla_metrics_failed", service=service)

    async def _refresh_service(self, service: str, policy: SlaPolicy, now: datetime) -> None:
        rt = self._runtime
        ratio: dict[tuple[str, str], float] = {}
        budget: dict[tuple[str, str], float] = {}
        for window in WINDOWS:
            wp = window_policy(policy, window)
            if wp is None:
                continue
            r = await rt.report(service, wp, rt.period(wp, None, now), now)
            ratio[(service, window)] = float(r.availability / 100)
            budget[(service, window)] = r.error_budget_seconds
        cp = counter_policy(policy)
        period = rt.period(cp, None, now)
        r = await rt.report(service, cp, period, now)
        total = r.measured_seconds
        good = float(Fraction(total) * r.availability / 100)
        with self._lock:
            self._ratio.update(ratio)
            self._budget.update(budget)
            last = self._counters.get(service)
            if last is not None and last.period_start == period.start:
                good, total = max(good, last.good), max(total, last.total)
            self._counters[service] = _Counter(period.start, good, total)

    async def run(self, every: float = SLA_METRICS_EVERY) -> None:
        while True:
            await self.refresh(datetime.now(UTC))
            await asyncio.sleep(every)

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            ratio, budget = dict(self._ratio), dict(self._budget)
            counters = dict(self._counters)
        fam = GaugeMetricFamily(
            "monitord_service_availability_ratio",
            "Availability (0..1) per SLA window as the service's policy computes it, to now.",
            labels=["service", "window"],
        )
        for (service, window), value in sorted(ratio.items()):
            fam.add_metric([service, window], value)
        yield fam
        fam = GaugeMetricFamily(
            "monitord_service_error_budget_remaining_seconds",
            "Allowed unavailability over the whole window minus what was used (negative: overrun).",
            labels=["service", "window"],
        )
        for (service, window), value in sorted(budget.items()):
            fam.add_metric([service, window], value)
        yield fam
        good = CounterMetricFamily(
            "monitord_service_good_seconds",
            "Measured seconds the service was available, this contract (or calendar) year.",
            labels=["service"],
        )
        total = CounterMetricFamily(
            "monitord_service_measured_seconds",
            "Measured seconds under the service's SLA policy, this contract (or calendar) year.",
            labels=["service"],
        )
        for service, c in sorted(counters.items()):
            good.add_metric([service], c.good)
            total.add_metric([service], c.total)
        yield good
        yield total

    def describe(self) -> Iterable[Metric]:
        return []
