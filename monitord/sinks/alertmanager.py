"""Push alerts to Alertmanager (API v2), the way Prometheus does.

What is sent, and its words, is decided by the sans-IO `AlertBook`
(monitord/sinks/alerts.py); this module is the thin asyncio/aiohttp layer.

Delivery follows gatus' rule: an alert is marked sent only after the POST
succeeded. Each URL (an HA pair gets every alert) has its own queue, retry
backoff and resend clock. Active alerts are re-sent every `resend_interval`
with `endsAt` = now + 4 x that interval, as Prometheus does: Alertmanager
keeps them firing while we live, and expires them if this daemon dies
without resolving them. A restarted daemon re-seeds the active alerts from
the recorded check states and open service intervals.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from datetime import UTC, datetime
from typing import Any

import aiohttp
import structlog

from monitord.config.alerting import AlertmanagerConfig
from monitord.core.callquality import QualityChange
from monitord.core.events import MaintenanceEnded, MaintenanceStarted
from monitord.core.stream import Committed, Reconfigured, Resumed
from monitord.core.supervisor import TaskSpec
from monitord.errors import AlertDeliveryError
from monitord.sinks.alerts import AlertBook, Subjects
from monitord.sinks.backoff import Backoff
from monitord.sinks.health import DeliveryMetrics

__all__ = ["AlertmanagerSink", "client_session", "post_alerts"]

log = structlog.get_logger("monitord.alertmanager")


def client_session(cfg: AlertmanagerConfig) -> aiohttp.ClientSession:
    """A session with the config's timeout and bearer token (silences use it too)."""
    headers = {}
    if cfg.bearer_token_file is not None:
        headers["Authorization"] = f"Bearer {cfg.bearer_token_file.get()}"
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=cfg.timeout),
                                 headers=headers)


class AlertmanagerSink:
    """Pipeline sink: `consume()` queues, one task per URL delivers."""

    def __init__(self, cfg: AlertmanagerConfig, subjects: Subjects, *,
                 metrics: DeliveryMetrics | None = None) -> None:
        self._cfg = cfg
        self._metrics = metrics
        self.book = AlertBook(cfg, subjects, len(cfg.urls))
        self._wake = [asyncio.Event() for _ in cfg.urls]
        self._session: aiohttp.ClientSession | None = None
        self.sent_batches = 0  # for tests and logs: successful POSTs

    def consume(self, c: Committed) -> None:
        changed = False
        if c.probe is not None and c.probe.result.ok:
            self.book.succeeded(c.probe.check.name, c.probe.at)
        for ev in c.events:
            if isinstance(ev, Resumed):
                self.book.seed(ev.snapshots, ev.open_services)
                for change in ev.quality:
                    self.book.quality(change)
                changed = True
            elif isinstance(ev, QualityChange):
                changed |= self.book.quality(ev)
            elif isinstance(ev, Reconfigured):
                self.book.reconfigure(self.book.subjects.rebuilt(ev.checks, ev.services))
            elif isinstance(ev, MaintenanceStarted | MaintenanceEnded):
                changed |= self.book.maintenance_changed(ev)
        if c.check_events or c.service_events:
            changed |= self.book.apply(c.check_events, c.service_events)
        if changed:
            for wake in self._wake:
                wake.set()

    def tasks(self) -> list[TaskSpec]:
        """One delivery loop per URL, for the supervisor to run and restart."""
        return [(f"alertmanager-{i}", functools.partial(self._deliver, i, url))
                for i, url in enumerate(self._cfg.urls)]

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = client_session(self._cfg)
        return self._session

    async def close(self, flush_timeout: float = 2.0) -> None:
        """After the delivery loops stopped: one last bounded attempt to hand over what is
        pending, then close the session."""
        if not any(self.book.pending):
            if self._session is not None:
                await self._session.close()
            self._session = None
            return
        session = self._client()
        try:
            async with asyncio.timeout(flush_timeout):
                for dest, url in enumerate(self._cfg.urls):
                    await self._send_pending(session, dest, url)
        except (TimeoutError, AlertDeliveryError) as exc:
            log.warning("alertmanager_unflushed", problem=str(exc) or "timeout")
        finally:
            await session.close()
            self._session = None

    async def _send_pending(self, session: aiohttp.ClientSession, dest: int, url: str) -> None:
        now = datetime.now(UTC)
        batch = self.book.batch(dest, now)
        if batch:
            try:
                await post_alerts(session, url, self.book.payloads(batch, now))
            except AlertDeliveryError:
                if self._metrics is not None:
                    self._metrics.delivered(False)
                raise
            if self._metrics is not None:
                self._metrics.delivered(True)
            self.book.delivered(dest, batch)
            self.sent_batches += 1

    async def _deliver(self, dest: int, url: str) -> None:
        """Runs until cancelled at shutdown; each turn is bounded by the POST timeout."""
        loop = asyncio.get_running_loop()
        backoff = Backoff(self._cfg.retry_initial, self._cfg.retry_max)
        wake = self._wake[dest]
        next_resend = loop.time() + self._cfg.resend_interval
        retry_at: float | None = None
        while True:
            until = min(next_resend, retry_at) if retry_at is not None else next_resend
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), max(0.0, until - loop.time()))
            wake.clear()
            now = loop.time()
            if now >= next_resend:
                self.book.resend_all(dest)
                next_resend = now + self._cfg.resend_interval
            if retry_at is not None and now < retry_at:
                continue  # backing off: new alerts wait in the queue for the retry
            try:
                await self._send_pending(self._client(), dest, url)
            except AlertDeliveryError as exc:
                delay = backoff.next_delay()
                retry_at = loop.time() + delay
                log.warning("alertmanager_unreachable", url=url, problem=str(exc),
                            retry_in=round(delay, 3), attempt=backoff.attempts)
                continue
            if backoff.attempts:
                log.info("alertmanager_reachable", url=url, after_attempts=backoff.attempts)
            backoff.reset()
            retry_at = None
            if self.book.pending[dest]:
                wake.set()  # more arrived during the POST


async def post_alerts(session: aiohttp.ClientSession, url: str, alerts: list[dict[str, Any]]) -> None:
    """POST to `<url>/api/v2/alerts`; raise AlertDeliveryError unless Alertmanager took them.

    A 4xx other than 429 is our bug or a config problem and will not heal by
    retrying the same body, but we still retry: dropping a page silently is
    worse than a warning repeated every `retry_max`.
    """
    endpoint = url.rstrip("/") + "/api/v2/alerts"
    try:
        async with session.post(endpoint, json=alerts) as resp:
            if resp.status // 100 == 2:
                return
            body = (await resp.text())[:300]
            hint = " (check the alert labels and the URL path)" if resp.status // 100 == 4 else ""
            raise AlertDeliveryError(f"{endpoint} answered {resp.status}: {body!r}{hint}")
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise AlertDeliveryError(
            f"cannot reach Alertmanager at {endpoint}: {type(exc).__name__}: {exc}"
        ) from exc
