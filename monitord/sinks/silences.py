"""Maintenance pages no one: an Alertmanager silence for each running maintenance window.

The daemon already holds back its own alerts for a service in maintenance;
Prometheus' rules (deploy/prometheus) and anything else routed through
Alertmanager need a silence. For each window occurrence that the stream
says is running (`MaintenanceStarted` ... `MaintenanceEnded`, whether it
ended by the clock or was withdrawn through the API) there is one silence
with the matchers `site="<site>"` and `service="<service>"`, ending at the
window's planned end (so a dead daemon leaves no silence behind for long),
or renewed a day at a time when that end is too far out to say.

Idempotent across restarts of either side: a silence is recognised as ours
by `createdBy: monitord` and the window's key in its comment
(`[monitord-maintenance <site>/<service>/<window>/<start>]`); each delivery
loop reconciles what Alertmanager holds with what should be there (create
what is missing, expire what no running window wants, replace one whose end
moved), on every change and every `resend_interval`. Only silences of this
daemon's site are touched.

Silences stay when the daemon stops: they end with their windows by themselves.
`SilenceBook` is the sans-IO core; `SilenceSink` the aiohttp loops, one per URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import structlog

from monitord.config.alerting import AlertmanagerConfig
from monitord.core.events import MaintenanceEnded, MaintenanceStarted
from monitord.core.stream import Committed
from monitord.core.supervisor import TaskSpec
from monitord.errors import AlertDeliveryError
from monitord.sinks.alertmanager import client_session
from monitord.sinks.alerts import iso
from monitord.sinks.backoff import Backoff
from monitord.sinks.health import DeliveryMetrics

__all__ = ["CREATED_BY", "SilenceBook", "SilencePlan", "SilenceSink", "window_key"]

log = structlog.get_logger("monitord.silences")

CREATED_BY = "monitord"
RENEW_FOR = timedelta(days=1)  # a window without a known end is silenced a day at a time
_KEY = re.compile(r"\[monitord-maintenance ([^\]]+)\]")


def window_key(comment: str) -> str | None:
    """The window key a silence comment names, if it is one of ours."""
    found = _KEY.search(comment)
    return found.group(1) if found else None


@dataclass(frozen=True, slots=True)
class Window:
    key: str
    service: str
    window: str
    end: datetime | None  # planned end; None: too far out to say


@dataclass
class SilencePlan:
    create: list[dict[str, Any]] = field(default_factory=list)
    expire: list[str] = field(default_factory=list)  # silence ids

    def __bool__(self) -> bool:
        return bool(self.create or self.expire)


class SilenceBook:
    """Which windows run now (from the stream), and what to change in Alertmanager."""

    def __init__(self, site: str) -> None:
        self._site = site
        self.running: dict[str, Window] = {}

    def consume(self, ev: MaintenanceStarted | MaintenanceEnded) -> None:
        if isinstance(ev, MaintenanceStarted):
            self.running[ev.key] = Window(ev.key, ev.service, ev.window, ev.end)
        else:
            self.running.pop(ev.key, None)

    def _ours(self, silence: Mapping[str, Any]) -> str | None:
        if silence.get("createdBy") != CREATED_BY:
            return None
        key = window_key(str(silence.get("comment", "")))
        if key is None or not key.startswith(f"{self._site}/"):
            return None  # another site's daemon may share this Alertmanager
        return key

    def _ends(self, w: Window, now: datetime) -> datetime:
        """Alertmanager keeps milliseconds: round up, so the silence never ends before the window."""
        end = w.end if w.end is not None else now + RENEW_FOR
        extra = end.microsecond % 1000
        return end + timedelta(microseconds=1000 - extra) if extra else end

    def plan(self, existing: Iterable[Mapping[str, Any]], now: datetime) -> SilencePlan:
        """Compare Alertmanager's silences with the running windows."""
        plan = SilencePlan()
        kept: set[str] = set()
        for silence in existing:
            key = self._ours(silence)
            state = silence.get("status", {}).get("state")
            if key is None or state not in ("active", "pending"):
                continue
            w = self.running.get(key)
            if w is None or key in kept or not self._fits(silence, w, now):
                plan.expire.append(str(silence["id"]))
                continue
            kept.add(key)
        for key, w in sorted(self.running.items()):
            if key not in kept and self._ends(w, now) > now:
                plan.create.append(self.body(w, now))
        return plan

    def _fits(self, silence: Mapping[str, Any], w: Window, now: datetime) -> bool:
        """Same matchers, and an end where it should be (renewed when half a day is left)."""
        try:
            ends = datetime.fromisoformat(str(silence["endsAt"]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            return False
        matchers = {(m.get("name"), m.get("value"), bool(m.get("isRegex")),
                     m.get("isEqual", True)) for m in silence.get("matchers", [])}
        if matchers != {(k, v, False, True) for k, v in self._matchers(w).items()}:
            return False
        if w.end is not None:
            return abs((ends - self._ends(w, now)).total_seconds()) < 0.001
        return ends - now > RENEW_FOR / 2

    def _matchers(self, w: Window) -> dict[str, str]:
        return {"site": self._site, "service": w.service}

    def body(self, w: Window, now: datetime) -> dict[str, Any]:
        """The API v2 `postableSilence` for a window."""
        return {
            "matchers": [{"name": k, "value": v, "isRegex": False, "isEqual": True}
                         for k, v in self._matchers(w).items()],
            "startsAt": iso(now),
            "endsAt": iso(self._ends(w, now)),
            "createdBy": CREATED_BY,
            "comment": f"maintenance window {w.window!r} of service {w.service}"
                       f" [monitord-maintenance {w.key}]",
        }


class SilenceSink:
    """Sink: maintenance events update the book; one loop per URL reconciles."""

    def __init__(self, cfg: AlertmanagerConfig, site: str, *,
                 metrics: DeliveryMetrics | None = None) -> None:
        self._cfg = cfg
        self._metrics = metrics
        self.book = SilenceBook(site)
        self._wake = [asyncio.Event() for _ in cfg.urls]
        self.reconciled = [0 for _ in cfg.urls]  # successful rounds per URL, for tests

    def consume(self, c: Committed) -> None:
        changed = False
        for ev in c.events:
            if isinstance(ev, MaintenanceStarted | MaintenanceEnded):
                self.book.consume(ev)
                changed = True
        if changed:
            for wake in self._wake:
                wake.set()

    def tasks(self) -> list[TaskSpec]:
        return [(f"alertmanager-silences-{i}", functools.partial(self._loop, i, url))
                for i, url in enumerate(self._cfg.urls)]

    async def _loop(self, dest: int, url: str) -> None:
        backoff = Backoff(self._cfg.retry_initial, self._cfg.retry_max)
        wake = self._wake[dest]
        wait = 0.0  # reconcile at once on start: a restarted daemon checks what is there
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), wait)
            wake.clear()
            try:  # a session per round: one round every resend_interval, nothing to close
                async with client_session(self._cfg) as session:
                    await self.reconcile(session, url)
            except AlertDeliveryError as exc:
                wait = backoff.next_delay()
                log.warning("alertmanager_silences_failed", url=url, problem=str(exc),
                            retry_in=round(wait, 3), attempt=backoff.attempts)
                continue
            backoff.reset()
            self.reconciled[dest] += 1
            wait = self._cfg.resend_interval

    async def reconcile(self, session: aiohttp.ClientSession, url: str) -> SilencePlan:
        """One round against one Alertmanager; raises AlertDeliveryError on any trouble."""
        existing = await self._request(session, "GET", f"{url.rstrip('/')}/api/v2/silences")
        if not isinstance(existing, list):
            raise AlertDeliveryError(f"{url}/api/v2/silences answered {existing!r}, not a list")
        plan = self.book.plan(existing, datetime.now(UTC))
        for silence_id in plan.expire:
            await self._request(session, "DELETE", f"{url.rstrip('/')}/api/v2/silence/{silence_id}")
            log.info("maintenance_silence_expired", url=url, silence=silence_id)
        for body in plan.create:
            created = await self._request(session, "POST", f"{url.rstrip('/')}/api/v2/silences",
                                          body)
            log.info("maintenance_silence_created", url=url, comment=body["comment"],
                     ends=body["endsAt"],
                     silence=created.get("silenceID") if isinstance(created, dict) else None)
        return plan

    async def _request(self, session: aiohttp.ClientSession, method: str, endpoint: str,
                       body: Mapping[str, Any] | None = None) -> Any:
        try:
            async with session.request(method, endpoint, json=body) as resp:
                if resp.status // 100 != 2:
                    text = (await resp.text())[:300]
                    raise AlertDeliveryError(f"{method} {endpoint} answered {resp.status}: {text!r}")
                result = await resp.json(content_type=None)  # None for an empty body
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            if self._metrics is not None:
                self._metrics.silenced(False)
            raise AlertDeliveryError(
                f"cannot reach Alertmanager at {endpoint}: {type(exc).__name__}: {exc}") from exc
        except AlertDeliveryError:
            if self._metrics is not None:
                self._metrics.silenced(False)
            raise
        if self._metrics is not None:
            self._metrics.silenced(True)
        return result
