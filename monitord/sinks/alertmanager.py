"""Push alerts to Alertmanager (API v2), the way Prometheus does.

Two alerts, both built from recorded events (sla-rules §1):
- `MonitordCheckAlerting`: a check crossed `alert_after` (AlertRaised) until
  it recovers (AlertResolved). One alert per (check, service) it belongs to,
  so an Alertmanager inhibition rule with `equal: [site, service]` can mute
  the check alerts of a service that is already down.
- `MonitordServiceDown`: a service downtime interval is open.
- `MonitordCallQuality`: a service's XTIUM call-quality priority
  (monitord/core/callquality.py) is P1, P2 or P3; severity `critical`, `warning`
  and `info` respectively, label `priority`. A change of priority resolves the
  alert of the old one and fires the new one, since Alertmanager tells alerts
  apart by their labels; the alert starts when that priority began.
`startsAt` is the first failed probe of the streak (the honest start), never
the moment the threshold was crossed.

Delivery follows gatus' rule: an alert is marked sent only after the POST
succeeded. Each URL (an HA pair gets every alert) has its own queue, retry
backoff and resend clock. Active alerts are re-sent every `resend_interval`
with `endsAt` = now + 4 x that interval, as Prometheus does: Alertmanager
keeps them firing while we live, and expires them if this daemon dies
without resolving them. A restarted daemon re-seeds the active alerts from
the recorded check states and open service intervals.

`AlertBook` is the sans-IO core (what to send, to whom); `AlertmanagerSink`
is the thin asyncio/aiohttp layer around it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import structlog

from monitord.config.alerting import AlertmanagerConfig
from monitord.core.callquality import Priority, QualityChange
from monitord.core.events import (
    AlertRaised,
    AlertResolved,
    CheckEvent,
    CheckSnapshot,
    CheckState,
    MaintenanceEnded,
    MaintenanceStarted,
    ServiceDowntimeClosed,
    ServiceDowntimeOpened,
    ServiceDowntimeRecorded,
    ServiceEvent,
)
from monitord.core.stream import Committed, Reconfigured, Resumed
from monitord.core.supervisor import TaskSpec
from monitord.errors import AlertDeliveryError
from monitord.sinks.backoff import Backoff
from monitord.sinks.health import DeliveryMetrics
from monitord.sinks.logs import services_of

log = structlog.get_logger("monitord.alertmanager")

CHECK_ALERT = "MonitordCheckAlerting"
SERVICE_ALERT = "MonitordServiceDown"
QUALITY_ALERT = "MonitordCallQuality"
QUALITY_SEVERITY = {Priority.P1: "critical", Priority.P2: "warning", Priority.P3: "info"}
RESERVED_LABELS = frozenset({"alertname", "site", "check", "service"})

AlertKey = tuple[str, str, str]  # alertname, check ("" for a service alert), service


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Alert:
    key: AlertKey
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: datetime
    ends_at: datetime | None = None  # set once resolved

    @property
    def service(self) -> str:
        return self.key[2]

    def payload(self, now: datetime, valid_for: timedelta, generator_url: str | None) -> dict[str, Any]:
        """The API v2 `postableAlert`; a firing alert is valid for `valid_for` from now."""
        body: dict[str, Any] = {
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "startsAt": _iso(self.starts_at),
            "endsAt": _iso(self.ends_at if self.ends_at is not None else now + valid_for),
        }
        if generator_url:
            body["generatorURL"] = generator_url
        return body


class AlertBook:
    """Active alerts and, per destination, what still has to be delivered there.

    `pending[d]` maps an alert key to the newest version of that alert not yet
    accepted by destination d; a delivery only clears the entries it carried,
    so a change that arrives during a POST is sent afterwards, not lost.
    """

    def __init__(
        self,
        cfg: AlertmanagerConfig,
        site: str,
        services_of: Mapping[str, Sequence[str]],
        labels_of: Mapping[str, Mapping[str, str]] | None = None,
        destinations: int = 1,
    ) -> None:
        self._cfg = cfg
        self._site = site
        self._services_of = services_of
        self._labels_of = labels_of or {}
        # service -> keys of the maintenance occurrences running for it (from the stream)
        self.maintenance: dict[str, set[str]] = {}
        self.active: dict[AlertKey, Alert] = {}
        self.pending: list[dict[AlertKey, Alert]] = [{} for _ in range(destinations)]

    # --- building -------------------------------------------------------------

    def _check_alert(self, check: str, service: str, since: datetime, reason: str,
                     detail: str, failures: int) -> Alert:
        extra = {k: v for k, v in self._labels_of.get(check, {}).items() if k not in RESERVED_LABELS}
        labels = {"severity": self._cfg.check_severity, "priority": self._cfg.check_priority,
                  **extra, "alertname": CHECK_ALERT, "site": self._site, "check": check}
        if service:
            labels["service"] = service
        summary = f"{check} failed {failures} probes in a row ({reason})"
        annotations = {"summary": summary, "reason": reason, "detail": detail,
                       "since": _iso(since)}
        return Alert((CHECK_ALERT, check, service), labels, annotations, since)

    def _service_alert(self, ev: ServiceDowntimeOpened) -> Alert:
        labels = {"alertname": SERVICE_ALERT, "site": self._site, "service": ev.service,
                  "severity": self._cfg.service_severity, "priority": self._cfg.service_priority}
        annotations = {"summary": f"service {ev.service} is down ({ev.reason})",
                       "reason": ev.reason, "detail": ev.detail, "since": _iso(ev.start)}
        return Alert((SERVICE_ALERT, "", ev.service), labels, annotations, ev.start)

    def _quality_alert(self, change: QualityChange) -> Alert:
        p = change.after
        labels = {"alertname": QUALITY_ALERT, "site": self._site, "service": change.service,
                  "severity": QUALITY_SEVERITY[p], "priority": p.label}
        annotations = {"summary": f"service {change.service}: call quality {p.label}",
                       "detail": change.figures.describe(), "since": _iso(change.at)}
        # the key's check slot holds the priority: one alert (one label set) per priority
        return Alert((QUALITY_ALERT, p.label, change.service), labels, annotations, change.at)

    def _services(self, check: str) -> Sequence[str]:
        return self._services_of.get(check) or ("",)

    # --- state changes --------------------------------------------------------

    def _fire(self, alert: Alert) -> None:
        self.active[alert.key] = alert
        for queue in self.pending:
            queue[alert.key] = alert

    def _resolve(self, key: AlertKey, at: datetime, fallback: Alert | None = None) -> None:
        alert = self.active.pop(key, None) or fallback
        if alert is None:
            return  # never raised here (e.g. raised before a restart and already resolved)
        resolved = replace(alert, ends_at=max(at, alert.starts_at))
        for queue in self.pending:
            queue[key] = resolved

    def apply(self, check_events: Iterable[CheckEvent], service_events: Iterable[ServiceEvent]) -> bool:
        """Take one outcome's events; True if anything is now waiting to be sent."""
        changed = False
        for ev in check_events:
            if isinstance(ev, AlertRaised):
                for svc in self._services(ev.check):
                    self._fire(self._check_alert(ev.check, svc, ev.since, ev.reason, ev.detail,
                                                 ev.failures))
                changed = True
            elif isinstance(ev, AlertResolved):
                for svc in self._services(ev.check):
                    self._resolve((CHECK_ALERT, ev.check, svc), ev.at)
                changed = True
        for sev in service_events:
            if isinstance(sev, ServiceDowntimeRecorded):  # over already: fire and resolve
                past = self._service_alert(ServiceDowntimeOpened(sev.service, sev.start,
                                                                 sev.reason, sev.detail))
                self._fire(past)
                self._resolve((SERVICE_ALERT, "", sev.service), sev.end, past)
            elif isinstance(sev, ServiceDowntimeOpened):
                self._fire(self._service_alert(sev))
            elif isinstance(sev, ServiceDowntimeClosed):
                fallback = self._service_alert(ServiceDowntimeOpened(sev.service, sev.start, "", ""))
                self._resolve((SERVICE_ALERT, "", sev.service), sev.end, fallback)
            changed = True
        return changed

    def quality(self, change: QualityChange) -> bool:
        """A service's call-quality priority changed; True (something to send) always."""
        if change.before is not Priority.NONE:
            self._resolve((QUALITY_ALERT, change.before.label, change.service), change.at)
        if change.after is not Priority.NONE:
            self._fire(self._quality_alert(change))
        return True

    def seed(self, snapshots: Mapping[str, CheckSnapshot], open_services: Mapping[str, datetime]) -> None:
        """After a restart: what was alerting still is, so Alertmanager hears of it again."""
        for name, snap in snapshots.items():
            if snap.state in (CheckState.ALERTING, CheckState.DOWN) and snap.streak_start:
                reason = snap.streak_reason or "unknown"
                for svc in self._services(name):
                    self._fire(self._check_alert(name, svc, snap.streak_start, reason,
                                                 snap.streak_detail, snap.consecutive_failures))
        for service, start in open_services.items():
            self._fire(self._service_alert(ServiceDowntimeOpened(service, start, "unknown",
                                                                 "open at daemon start")))

    def reconfigure(self, services_of: Mapping[str, Sequence[str]],
                    labels_of: Mapping[str, Mapping[str, str]]) -> None:
        """A reload: alerts raised from now on carry the new services and labels."""
        self._services_of = services_of
        self._labels_of = labels_of

    def maintenance_changed(self, ev: MaintenanceStarted | MaintenanceEnded) -> bool:
        """Track running windows; True when one ended (held-back alerts may go out now)."""
        running = self.maintenance.setdefault(ev.service, set())
        if isinstance(ev, MaintenanceStarted):
            running.add(ev.key)
            return False
        running.discard(ev.key)
        if running:
            return False
        for dest in range(len(self.pending)):
            self.resend_all(dest)
        return True

    def resend_all(self, dest: int) -> None:
        for key, alert in self.active.items():
            self.pending[dest].setdefault(key, alert)

    def batch(self, dest: int, now: datetime) -> list[Alert]:
        """What to send to `dest` now; firing alerts of a service in maintenance are held back.

        Held-back alerts leave the queue: the next resend re-adds them if they
        are still active once the window is over. Resolutions always go out.
        """
        queue = self.pending[dest]
        out: list[Alert] = []
        for key, alert in list(queue.items()):
            if alert.ends_at is None and alert.service and self.maintenance.get(alert.service):
                del queue[key]
                continue
            out.append(alert)
        return out

    def delivered(self, dest: int, alerts: Iterable[Alert]) -> None:
        queue = self.pending[dest]
        for alert in alerts:
            if queue.get(alert.key) is alert:  # not replaced by a newer version meanwhile
                del queue[alert.key]

    def payloads(self, alerts: Iterable[Alert], now: datetime) -> list[dict[str, Any]]:
        valid_for = timedelta(seconds=4 * self._cfg.resend_interval)
        return [a.payload(now, valid_for, self._cfg.generator_url) for a in alerts]


class AlertmanagerSink:
    """Pipeline sink: `outcome()` queues, one task per URL delivers."""

    def __init__(
        self,
        cfg: AlertmanagerConfig,
        site: str,
        services_of: Mapping[str, Sequence[str]],
        labels_of: Mapping[str, Mapping[str, str]] | None = None,
        *,
        metrics: DeliveryMetrics | None = None,
    ) -> None:
        self._cfg = cfg
        self._metrics = metrics
        self.book = AlertBook(cfg, site, services_of, labels_of, len(cfg.urls))
        self._wake = [asyncio.Event() for _ in cfg.urls]
        self._session: aiohttp.ClientSession | None = None
        self.sent_batches = 0  # for tests and logs: successful POSTs

    def consume(self, c: Committed) -> None:
        changed = False
        for ev in c.events:
            if isinstance(ev, Resumed):
                self.book.seed(ev.snapshots, ev.open_services)
                for change in ev.quality:
                    self.book.quality(change)
                changed = True
            elif isinstance(ev, QualityChange):
                changed |= self.book.quality(ev)
            elif isinstance(ev, Reconfigured):
                self.book.reconfigure(services_of(ev.services),
                                      {ch.name: ch.config.labels for ch in ev.checks})
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
            headers = {}
            if self._cfg.bearer_token_file is not None:
                headers["Authorization"] = f"Bearer {self._cfg.bearer_token_file.get()}"
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._cfg.timeout), headers=headers
            )
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
