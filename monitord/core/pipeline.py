"""Where a probe result becomes state, events and records.

Data flows one way: probe result -> check state machine -> events -> the
store first, then the sinks (metrics, logs; later alerts and MQTT). The store
is written before any sink sees an event, so nothing is announced that a crash
could lose. Sinks never call back up.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import structlog

from monitord.config.load import EffectiveCheck
from monitord.config.models import ServiceConfig
from monitord.core.checkstate import CheckMachine, Observation
from monitord.core.events import (
    CheckEvent,
    CheckSnapshot,
    CheckState,
    ServiceEvent,
)
from monitord.core.services import OpenCheckDowntime, ServiceTracker
from monitord.storage.base import ProbeSample, Store
from probes.base import ProbeResult

log = structlog.get_logger("monitord.core.pipeline")


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    """Everything sinks learn about one probe run."""

    check: EffectiveCheck
    at: datetime
    result: ProbeResult
    duration: float
    before: CheckSnapshot
    after: CheckSnapshot
    check_events: tuple[CheckEvent, ...]
    service_events: tuple[ServiceEvent, ...]


class Sink(Protocol):
    def outcome(self, outcome: ProbeOutcome) -> None: ...


def _persistent(s: CheckSnapshot) -> tuple[object, ...]:
    """The snapshot minus `last_probe`: an unchanged UP check needs no write."""
    return (
        s.state,
        s.consecutive_failures,
        s.consecutive_successes,
        s.streak_start,
        s.downtime_start,
        s.recovery_start,
    )


class Pipeline:
    def __init__(
        self,
        checks: Sequence[EffectiveCheck],
        services: Sequence[ServiceConfig],
        store: Store,
        snapshots: Mapping[str, CheckSnapshot],
        open_services: Mapping[str, datetime],
        sinks: Sequence[Sink],
    ) -> None:
        self.checks = {c.name: c for c in checks}
        self._machines = {c.name: CheckMachine(c.name, c.thresholds) for c in checks}
        self.snapshots: dict[str, CheckSnapshot] = {
            c.name: snapshots.get(c.name) or CheckSnapshot.initial(c.name) for c in checks
        }
        self.last_results: dict[str, tuple[datetime, ProbeResult, float]] = {}
        open_checks = {
            name: OpenCheckDowntime(s.downtime_start, s.streak_reason or "unknown", s.streak_detail)
            for name, s in self.snapshots.items()
            if s.state is CheckState.DOWN and s.downtime_start is not None
        }
        self.tracker = ServiceTracker(services, open_checks, open_services)
        self.services = {s.name: s for s in services}
        self._store = store
        self._sinks = list(sinks)
        self._lock = asyncio.Lock()
        self._samples: list[ProbeSample] = []
        # service events derived from recorded check events whose own commit failed
        self._unrecorded_service: tuple[ServiceEvent, ...] = ()

    async def reconcile(self, now: datetime) -> None:
        """After a restart, bring service intervals in line with the resumed checks."""
        async with self._lock:
            events = self.tracker.reconcile(now)
            if events:
                await self._store.commit_service(events)
                for ev in events:
                    log.info("service_reconciled", event=type(ev).__name__, service=ev.service)

    async def observe(
        self, name: str, at: datetime, result: ProbeResult, duration: float
    ) -> ProbeOutcome:
        check = self.checks[name]
        obs = Observation(
            at=at,
            ok=result.ok,
            reason=result.reason.value if result.reason else None,
            detail=result.detail,
        )
        async with self._lock:
            before = self.snapshots[name]
            after, events = self._machines[name].step(before, obs)
            checkpoint = copy.deepcopy(self.tracker) if events else None
            service_events = tuple(self.tracker.on_check_events(events))
            try:
                if events or _persistent(after) != _persistent(before):
                    await self._store.commit_check(after, events)
            except BaseException:
                # not recorded, so not happened: the next probe re-derives the same events
                if checkpoint is not None:
                    self.tracker = checkpoint
                raise
            # The check's part is recorded now, so it happened, whatever befalls the
            # service part: keeping the old snapshot would re-open a recorded interval.
            self.snapshots[name] = after
            self.last_results[name] = (at, result, duration)
            self._samples.append(ProbeSample(name, at, result.ok, result.latency, obs.reason))
            pending = (*self._unrecorded_service, *service_events)
            if pending:
                try:
                    await self._store.commit_service(pending)
                except BaseException:
                    self._unrecorded_service = pending  # retried, in order, with the next commit
                    raise
                self._unrecorded_service = ()
                service_events = pending
        outcome = ProbeOutcome(check, at, result, duration, before, after, events, service_events)
        for sink in self._sinks:
            try:
                sink.outcome(outcome)
            except Exception:  # a broken sink must not stop monitoring
                log.exception("sink_failed", sink=type(sink).__name__, check=name)
        return outcome

    async def flush_samples(self) -> int:
        async with self._lock:
            samples, self._samples = self._samples, []
        if samples:
            try:
                await self._store.record_probes(samples)
            except BaseException:
                # not written (the store rolled back): keep them for the next flush. A
                # COMMIT cancelled at shutdown may still have landed, so a rollup can at
                # worst count a few probes twice; intervals never pass through here.
                self._samples[:0] = samples
                raise
        return len(samples)
