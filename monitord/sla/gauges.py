"""SLA figures for Prometheus: availability and error budget per window, maintenance, SLO counters.

Why a periodic task: a report sweeps a year of intervals, far too much work
for a scrape (or the probe loop), so every `SLA_METRICS_EVERY` seconds the
engine computes every service's reports and scrapes read the cached values.
Nothing is recomputed here: every value is a field of the engine's Report.

Why it stays off the probe loop for a fleet: the store is read one small
query per service (no thousand-row conversion in one loop turn), then all
reports are computed in one worker thread through one `Batch` (calendars,
windows and quiet-time sums shared, each window's policy variant built once),
so the loop only waits for the GIL's switch interval, never for a report.
`bench/sla_gauges.py` measures the scheduler's lateness during a refresh of
1,000 services.

Windows: `month_to_date` and `rolling_12_months` for every service with a
policy, `contract_year` for policies with a `contract_start`. The policy's
own rules apply (maintenance, calendar, unmonitored treatment, priorities);
only the period is the window's.

The counters `monitord_service_good_seconds_total` and
`monitord_service_measured_seconds_total` are the measured seconds that were
watched and those of them that were available, since the start of the
current contract year (calendar year without a contract) — time nobody
watched (before the first start, between runs) is in neither, so a fresh
store starts at 0, not at the year so far. An availability ratio over a
window in which nobody watched any time that counts is NaN (no figure),
never 1.0. Sloth/Pyrra-style rules
(`1 - rate(good)/rate(measured)`) work directly. They reset to zero when a new
year starts, which `rate()` treats as the counter reset it is; and they never
go backwards within a year: a window announced later that takes time out of
the measured period leaves the counters where they were until they pass it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction

import structlog
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitord.sla.batch import Batch
from monitord.sla.config import SlaPolicy
from monitord.sla.periods import Period
from monitord.sla.runtime import FleetInputs, SlaRuntime

log = structlog.get_logger("monitord.sla.gauges")

SLA_METRICS_EVERY = 60.0
FIRST_FIGURES_AFTER = 5.0  # seconds: the next refresh while a service has no figure yet
WINDOWS = ("month_to_date", "rolling_12_months", "contract_year")
COUNTER = "counter"  # the SLO counters' year, computed with the windows
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


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """No full cyclic collection while a refresh holds a fleet's intervals.

    Why: a refresh keeps tens of thousands of objects alive for a second or
    two and allocates many more; a full collection in that time walks them
    all with the GIL held (60-130 ms measured for 1,000 services), which the
    probe loop feels as lateness. Everything a refresh allocates is freed by
    reference counting when it ends, so pausing the cyclic collector for
    that span costs nothing; it resumes (if it was on) when the refresh
    ends, and finds the heap as small as before.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class _Values:
    ratios: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    counters: dict[str, _Counter] = field(default_factory=dict)


def _compute(
    inputs: FleetInputs, jobs: list[tuple[str, str, SlaPolicy, Period]], now: datetime
) -> tuple[_Values, list[tuple[str, Exception]]]:
    """Every job's report through one Batch (runs in a worker thread).

    Sleeps 0 after each report: that hands the GIL back, so the event loop
    waits at most one report's time for it, not the interpreter's 5 ms switch
    interval at every I/O it does (the convoy a CPU-bound thread causes).
    """
    batch = Batch(inputs.setup, inputs.reach)
    out = _Values()
    failed: list[tuple[str, Exception]] = []
    broken: set[str] = set()
    for service, window, policy, period in jobs:
        if service in broken:
            continue
        try:
            r = batch.report(
                service=service, policy=policy, period=period,
                downtimes=inputs.downtimes.get(service, []), gaps=inputs.gaps_of(service),
                review=inputs.reviews.get(service),
            )
        except Exception as exc:  # one service's bad data must not blank the others
            broken.add(service)
            failed.append((service, exc))
            continue
        time.sleep(0)
        if window == COUNTER:
            total = r.measured_seconds  # watched time only: the counter policy excludes the rest
            good = 0.0 if r.availability is None else float(Fraction(total) * r.availability / 100)
            out.counters[service] = _Counter(period.start, good, total)
        else:  # nothing watched of the time that counts: NaN ("no figure"), never 1.0
            ratio = math.nan if r.availability is None else float(r.availability / 100)
            out.ratios[(service, window)] = (ratio, r.error_budget_seconds)
    return out, failed


def counter_policy(policy: SlaPolicy) -> SlaPolicy:
    """The policy over its (contract) year, counting watched time only.

    The counters are observations: time nobody watched is neither good nor
    total, whatever the policy's `unmonitored` says for reports.
    """
    period = "contract_year" if policy.contract_start is not None else "year"
    return policy.model_copy(update={"period": period, "unmonitored": "excluded"})


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
        rt = self._runtime
        # one policy copy and period per policy and window: the Batch shares by policy
        variants: dict[tuple[str, str], tuple[SlaPolicy, Period] | None] = {}
        jobs: list[tuple[str, str, SlaPolicy, Period]] = []
        for service, policy in self._services():
            for window in (*WINDOWS, COUNTER):
                key = (policy.name, window)
                if key not in variants:
                    variant = (
                        counter_policy(policy) if window == COUNTER else window_policy(policy, window)
                    )
                    variants[key] = None if variant is None else (
                        variant, rt.period(variant, None, now)
                    )
                found = variants[key]
                if found is not None:
                    jobs.append((service, window, *found))
        if not jobs:
            return
        since = min(period.start for *_, period in jobs)
        with _cyclic_gc_paused():
            inputs = await rt.fleet_inputs(list(dict.fromkeys(j[0] for j in jobs)), since, now)
            values, failed = await asyncio.to_thread(_compute, inputs, jobs, now)
            del inputs
        for service, exc in failed:
            log.error("sla_metrics_failed", service=service, error=str(exc))
        with self._lock:
            for key, (ratio, budget) in values.ratios.items():
                self._ratio[key], self._budget[key] = ratio, budget
            for service, counter in values.counters.items():
                last = self._counters.get(service)
                if last is not None and last.period_start == counter.period_start:
                    counter = _Counter(
                        counter.period_start, max(counter.good, last.good),
                        max(counter.total, last.total),
                    )
                self._counters[service] = counter

    async def run(self, every: float = SLA_METRICS_EVERY) -> None:
        """Refresh every `every` seconds; sooner while a service has no figure yet.

        A freshly started daemon has watched nothing at its first refresh, so
        its ratios are NaN (never 1.0); a few seconds later they have figures.
        Only during the first `every` seconds: a service in a long maintenance
        window stays without a figure, and a fleet is not recomputed every 5 s.
        """
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            await self.refresh(datetime.now(UTC))
            early = loop.time() - started < every and not self._complete()
            await asyncio.sleep(min(every, FIRST_FIGURES_AFTER) if early else every)

    def _complete(self) -> bool:
        with self._lock:
            have = {service for (service, _), ratio in self._ratio.items() if not math.isnan(ratio)}
        return all(service in have for service, _ in self._services())

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            ratio, budget = dict(self._ratio), dict(self._budget)
            counters = dict(self._counters)
        for name, documentation, values in (
            ("monitord_service_availability_ratio",
             "Availability (0..1) per SLA window as the service's policy computes it, to now.",
             ratio),
            ("monitord_service_error_budget_remaining_seconds",
             "Allowed unavailability over the whole window minus what was used (negative: overrun).",
             budget),
        ):
            fam = GaugeMetricFamily(name, documentation, labels=["service", "window"])
            for (service, window), value in sorted(values.items()):
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
