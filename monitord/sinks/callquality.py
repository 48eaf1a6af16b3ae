"""Pipeline sink for call-quality priorities: metrics, transition logs, stored intervals.

Why a sink: quality is judged on results the state machine has already
recorded, and it never changes reachability (a P1 for poor MOS is degraded,
not down; sla-rules §3 vs §4). The judgement is `monitord/core/callquality.py`;
this adapter feeds it every `sip_call` result of each service the check
belongs to, exports `monitord_service_call_quality_priority{service}` (0 none,
else 1..3) with the window's shares, and logs each transition.

Sinks are synchronous and must not call back into the pipeline, so changes
are queued and a background task commits them to the store in order
(`Store.commit_quality`: the interval and, with MQTT, the outbox row in one
transaction). A failed write is retried on the next change or at stop, never
dropped; the gauge and log are not held back by a slow disk. On start the
open stored intervals seed each service's priority, so a restart neither
loses an incident nor re-opens it.

`listeners` hear of every change (the Alertmanager sink's `MonitordCallQuality`
alert), and of each resumed priority at start as a change from none that
began when the stored interval did; they must be quick and must not raise.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from datetime import timedelta

import structlog
from prometheus_client import CollectorRegistry, Gauge

from monitord.config.load import EffectiveCheck
from monitord.config.models import ServiceConfig
from monitord.core.callquality import (
    Priority,
    QualityChange,
    ServiceQuality,
    WindowFigures,
    verdict,
)
from monitord.core.pipeline import ProbeOutcome
from monitord.storage.base import Store

__all__ = ["CallQualitySink"]

log = structlog.get_logger("monitord.core.callquality")

STOP_TIMEOUT = 10.0  # seconds the last commit may take at shutdown


class CallQualitySink:
    """See the module docstring; `start()` seeds from the store, `stop()` flushes."""

    def __init__(self, registry: CollectorRegistry, checks: Sequence[EffectiveCheck],
                 services: Sequence[ServiceConfig], store: Store,
                 listeners: Sequence[Callable[[QualityChange], None]] = ()) -> None:
        self._listeners = list(listeners)
        calls = {c.name for c in checks if c.type == "sip_call"}
        self._store = store
        self._services: dict[str, ServiceQuality] = {}
        self._of_check: dict[str, list[ServiceQuality]] = {}
        for svc in services:
            if not calls.intersection(svc.checks):
                continue
            w = svc.call_quality
            sq = ServiceQuality(svc.name, calls=w.calls, window=timedelta(seconds=w.window),
                                min_calls=w.min_calls)
            self._services[svc.name] = sq
            for check in calls.intersection(svc.checks):
                self._of_check.setdefault(check, []).append(sq)
        self.priority = Gauge(
            "monitord_service_call_quality_priority",
            "XTIUM call-quality priority of the service over its call window: 0 none, 1 P1"
            " (critical), 2 P2, 3 P3.", ["service"], registry=registry,
        )
        self._share = Gauge(
            "monitord_service_call_quality_share",
            "Share 0..1 of the window's answered calls with poor audio (MOS < 3.5 or none)"
            " or dropped.", ["service", "kind"], registry=registry,
        )
        self._calls = Gauge(
            "monitord_service_call_quality_window_calls",
            "Answered calls in the service's call-quality window.", ["service"],
            registry=registry,
        )
        for name in self._services:
            self.priority.labels(name).set(0)
        self._pending: list[QualityChange] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def current(self, service: str) -> Priority | None:
        sq = self._services.get(service)
        return None if sq is None else sq.priority

    async def start(self) -> None:
        for rec in await self._store.quality_intervals(open_only=True):
            sq = self._services.get(rec.service)
            if sq is not None:
                sq.priority = rec.priority
                self.priority.labels(rec.service).set(int(rec.priority))
                resumed = WindowFigures(rec.calls, rec.poor_audio, rec.dropped)
                self._tell(QualityChange(rec.service, rec.start, Priority.NONE, rec.priority,
                                         resumed))
        self._task = asyncio.create_task(self._writer(), name="call-quality-writer")

    async def stop(self) -> None:
        """Let the writer finish its last commit (never cancel it mid-transaction)."""
        task, self._task = self._task, None
        self._stopping = True
        self._wake.set()
        if task is not None:
            try:
                await asyncio.wait_for(task, STOP_TIMEOUT)
            except TimeoutError:
                log.error("call_quality_store_stuck", pending=len(self._pending))

    def outcome(self, o: ProbeOutcome) -> None:
        targets = self._of_check.get(o.check.name)
        if not targets:
            return
        call = verdict(o.result, o.at)
        if call is None:
            return  # never answered: reachability, not quality
        for sq in targets:
            change = sq.observe(call)
            f = sq.figures
            self._share.labels(sq.service, "poor_audio").set(f.poor_audio_share)
            self._share.labels(sq.service, "dropped").set(f.dropped_share)
            self._calls.labels(sq.service).set(f.calls)
            if change is None:
                continue
            self.priority.labels(sq.service).set(int(change.after))
            worse = change.after.severity() > change.before.severity()
            (log.warning if worse else log.info)(
                "call_quality_changed", service=sq.service, at=change.at.isoformat(),
                from_priority=change.before.label, to_priority=change.after.label,
                check=o.check.name, detail=change.figures.describe(),
            )
            self._pending.append(change)
            self._wake.set()
            self._tell(change)

    def _tell(self, change: QualityChange) -> None:
        for listener in self._listeners:
            try:
                listener(change)
            except Exception:  # a broken listener must not stop the judgement
                log.exception("call_quality_listener_failed", service=change.service)

    async def _writer(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            with contextlib.suppress(Exception):  # logged by _flush; retried on the next wake
                await self._flush()
            if self._stopping:
                return

    async def _flush(self) -> None:
        batch = list(self._pending)
        if not batch:
            return
        try:
            await self._store.commit_quality(batch)
        except Exception:
            log.exception("call_quality_store_failed", pending=len(batch))
            raise
        del self._pending[: len(batch)]
