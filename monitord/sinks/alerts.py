"""What to tell Alertmanager, without I/O: the alerts, their words and links, and who still needs them.

Three alerts, all built from recorded events (sla-rules §1):
- `MonitordCheckAlerting`: a check crossed `alert_after` (AlertRaised) until
  it recovers (AlertResolved). One alert per (check, service) it belongs to,
  so an Alertmanager inhibition rule with `equal: [site, service]` can mute
  the check alerts of a service that is already down.
- `MonitordServiceDown`: a service downtime interval is open. It names every
  check of the service that is down (a k-of-n service is down because of
  several), and is re-sent with new words when that set changes while the
  service stays down. Its labels add those that all the service's checks
  share (e.g. `platform`), so routing by a check label works for it too.
- `MonitordCallQuality`: a service's XTIUM call-quality priority
  (monitord/core/callquality.py) is P1, P2 or P3; severity `critical`,
  `warning` and `info` respectively, label `priority`. A change of priority
  resolves the alert of the old one and fires the new one, since
  Alertmanager tells alerts apart by their labels; the alert starts when
  that priority began.
`startsAt` is the first failed probe of the streak (the honest start), never
the moment the threshold was crossed.

Every alert carries the annotations on-call reads: `summary`, `description`
(the config's `description` of the check or service, or what it watches),
`runbook_url` (the check's or service's own, else the runbook the daemon
serves at `/runbook`) and `generatorURL` (the daemon's API for the check, its
status page for a service).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from monitord.config.alerting import AlertmanagerConfig
from monitord.config.load import EffectiveCheck
from monitord.config.models import ServiceConfig
from monitord.core.callquality import Priority, QualityChange
from monitord.core.events import (
    AlertRaised,
    AlertResolved,
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
from monitord.sinks.exposition import check_target, common_labels

__all__ = [
    "CHECK_ALERT",
    "QUALITY_ALERT",
    "SERVICE_ALERT",
    "Alert",
    "AlertBook",
    "Subjects",
]

CHECK_ALERT = "MonitordCheckAlerting"
SERVICE_ALERT = "MonitordServiceDown"
QUALITY_ALERT = "MonitordCallQuality"
QUALITY_SEVERITY = {Priority.P1: "critical", Priority.P2: "warning", Priority.P3: "info"}
# A check's own labels may set severity or priority (its routing), never these.
RESERVED_LABELS = frozenset({"alertname", "site", "location", "check", "service"})

AlertKey = tuple[str, str, str]  # alertname, check ("" for a service alert), service


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def anchor(alertname: str) -> str:
    """The runbook's section for an alert (docs headings are the alert names)."""
    return alertname.lower()


@dataclass(frozen=True, slots=True)
class CheckFacts:
    name: str
    type: str
    target: str
    description: str
    runbook_url: str | None
    labels: Mapping[str, str]
    services: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ServiceFacts:
    name: str
    description: str
    runbook_url: str | None
    labels: Mapping[str, str]  # those all its checks share
    checks: tuple[str, ...]
    required_down: int


@dataclass(frozen=True, slots=True)
class Subjects:
    """What alerts say about each check and service, from the config; built once."""

    site: str
    base_url: str  # the daemon as people reach it, without a trailing slash
    runbook_url: str  # the default runbook (sections named after the alerts)
    checks: Mapping[str, CheckFacts] = field(default_factory=dict)
    services: Mapping[str, ServiceFacts] = field(default_factory=dict)

    @classmethod
    def build(cls, site: str, checks: Sequence[EffectiveCheck],
              services: Sequence[ServiceConfig], base_url: str,
              runbook_url: str | None = None) -> Subjects:
        base = base_url.rstrip("/")
        services_of: dict[str, list[str]] = {}
        for svc in services:
            for name in svc.checks:
                services_of.setdefault(name, []).append(svc.name)
        by_name = {c.name: c for c in checks}
        return cls(
            site=site,
            base_url=base,
            runbook_url=runbook_url or f"{base}/runbook",
            checks={c.name: CheckFacts(
                c.name, c.type, check_target(c), c.config.description,
                getattr(c.config, "runbook_url", None),
                {k: v for k, v in c.config.labels.items() if k not in RESERVED_LABELS},
                tuple(services_of.get(c.name, ())),
            ) for c in checks},
            services={s.name: ServiceFacts(
                s.name, s.description, getattr(s, "runbook_url", None),
                common_labels([by_name[n] for n in s.checks if n in by_name]),
                tuple(s.checks), s.required_down(),
            ) for s in services},
        )

    def rebuilt(self, checks: Sequence[EffectiveCheck],
                services: Sequence[ServiceConfig]) -> Subjects:
        """After a reload: the new checks and services, the same site and links."""
        return Subjects.build(self.site, checks, services, self.base_url, self.runbook_url)

    def services_of(self, check: str) -> Sequence[str]:
        facts = self.checks.get(check)
        return (facts.services if facts is not None else ()) or ("",)

    def runbook(self, own: str | None, alertname: str) -> str:
        return own or f"{self.runbook_url}#{anchor(alertname)}"

    def check_url(self, check: str) -> str:
        return f"{self.base_url}/api/v1/checks/{quote(check, safe='')}"

    def service_url(self, service: str) -> str:
        return f"{self.base_url}/#service-{quote(service, safe='')}"


@dataclass(frozen=True, slots=True)
class Alert:
    key: AlertKey
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: datetime
    generator_url: str = ""
    ends_at: datetime | None = None  # set once resolved

    @property
    def service(self) -> str:
        return self.key[2]

    def payload(self, now: datetime, valid_for: timedelta) -> dict[str, Any]:
        """The API v2 `postableAlert`; a firing alert is valid for `valid_for` from now."""
        body: dict[str, Any] = {
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "startsAt": iso(self.starts_at),
            "endsAt": iso(self.ends_at if self.ends_at is not None else now + valid_for),
        }
        if self.generator_url:
            body["generatorURL"] = self.generator_url
        return body


@dataclass(frozen=True, slots=True)
class _Down:
    start: datetime
    reason: str
    detail: str


class AlertBook:
    """Active alerts and, per destination, what still has to be delivered there.

    `pending[d]` maps an alert key to the newest version of that alert not yet
    accepted by destination d; a delivery only clears the entries it carried,
    so a change that arrives during a POST is sent afterwards, not lost.
    """

    def __init__(self, cfg: AlertmanagerConfig, subjects: Subjects, destinations: int = 1) -> None:
        self._cfg = cfg
        self.subjects = subjects
        # service -> keys of the maintenance occurrences running for it (from the stream)
        self.maintenance: dict[str, set[str]] = {}
        self.active: dict[AlertKey, Alert] = {}
        self.pending: list[dict[AlertKey, Alert]] = [{} for _ in range(destinations)]
        self._down: dict[str, _Down] = {}  # checks with an open downtime interval
        self.last_success: dict[str, datetime] = {}  # per check, as seen by this run

    # --- building -------------------------------------------------------------

    def _check_alert(self, check: str, service: str, since: datetime, reason: str,
                     detail: str, failures: int) -> Alert:
        s = self.subjects
        facts = s.checks.get(check)
        extra = dict(facts.labels) if facts is not None else {}
        labels = {"severity": self._cfg.check_severity, "priority": self._cfg.check_priority,
                  **extra, "alertname": CHECK_ALERT, "site": s.site, "check": check}
        if service:
            labels["service"] = service
        what = f"{facts.type} check of {facts.target}" if facts is not None else f"check {check}"
        annotations = {
            "summary": f"{check} failed {failures} probes in a row ({reason})",
            "description": (facts.description if facts is not None and facts.description
                            else f"monitord's {what}"),
            "reason": reason, "detail": detail, "since": iso(since),
            "runbook_url": s.runbook(facts.runbook_url if facts else None, CHECK_ALERT),
        }
        last = self.last_success.get(check)
        if last is not None and last < since:
            annotations["last_success"] = iso(last)
        return Alert((CHECK_ALERT, check, service), labels, annotations, since, s.check_url(check))

    def _service_alert(self, service: str, start: datetime, reason: str, detail: str,
                       *, past: bool = False) -> Alert:
        """`past`: an interval revealed after it ended; the checks down now are not its own."""
        s = self.subjects
        facts = s.services.get(service)
        labels = {**(facts.labels if facts is not None else {}),
                  "alertname": SERVICE_ALERT, "site": s.site, "service": service,
                  "severity": self._cfg.service_severity, "priority": self._cfg.service_priority}
        down = [] if past else [c for c in (facts.checks if facts is not None else ())
                                if c in self._down]
        annotations = {"reason": reason, "since": iso(start),
                       "runbook_url": s.runbook(facts.runbook_url if facts else None,
                                                SERVICE_ALERT)}
        if facts is not None:
            rule = (f"{facts.required_down} of {len(facts.checks)}" if facts.required_down > 1
                    else "any of its")
            annotations["description"] = facts.description or (
                f"down when {rule} checks are down: {', '.join(facts.checks)}")
        if down:
            n = len(facts.checks) if facts is not None else len(down)
            annotations["summary"] = (f"service {service} is down: {len(down)} of {n} checks"
                                      f" down ({', '.join(down)})")
            annotations["down_checks"] = ", ".join(down)
            annotations["detail"] = "; ".join(
                f"{c}: {self._down[c].reason}" + (f" ({self._down[c].detail})"
                                                  if self._down[c].detail else "")
                for c in down)
        else:  # a past interval, or resumed before its checks were known
            annotations["summary"] = f"service {service} {'was' if past else 'is'} down ({reason})"
            annotations["detail"] = detail
        return Alert((SERVICE_ALERT, "", service), labels, annotations, start,
                     s.service_url(service))

    def _quality_alert(self, change: QualityChange) -> Alert:
        s = self.subjects
        p = change.after
        facts = s.services.get(change.service)
        labels = {"alertname": QUALITY_ALERT, "site": s.site, "service": change.service,
                  "severity": QUALITY_SEVERITY[p], "priority": p.label}
        annotations = {
            "summary": f"service {change.service}: call quality {p.label}",
            "description": (facts.description if facts is not None and facts.description
                            else "XTIUM priorities over the service's recent synthetic calls"),
            "detail": change.figures.describe(), "since": iso(change.at),
            "runbook_url": s.runbook(facts.runbook_url if facts else None, QUALITY_ALERT),
        }
        # the key's check slot holds the priority: one alert (one label set) per priority
        return Alert((QUALITY_ALERT, p.label, change.service), labels, annotations, change.at,
                     s.service_url(change.service))

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

    def _refresh_services(self, checks: Iterable[str]) -> bool:
        """A down service's alert names its down checks: re-word it when they change."""
        changed = False
        for check in checks:
            for service in self.subjects.services_of(check):
                alert = self.active.get((SERVICE_ALERT, "", service))
                if alert is not None:
                    self._fire(self._service_alert(service, alert.starts_at,
                                                   alert.annotations.get("reason", ""),
                                                   alert.annotations.get("detail", "")))
                    changed = True
        return changed

    def apply(self, check_events: Iterable[CheckEvent], service_events: Iterable[ServiceEvent]) -> bool:
        """Take one outcome's events; True if anything is now waiting to be sent."""
        changed = False
        moved: list[str] = []
        for ev in check_events:
            if isinstance(ev, AlertRaised):
                for svc in self.subjects.services_of(ev.check):
                    self._fire(self._check_alert(ev.check, svc, ev.since, ev.reason, ev.detail,
                                                 ev.failures))
                changed = True
            elif isinstance(ev, AlertResolved):
                for svc in self.subjects.services_of(ev.check):
                    self._resolve((CHECK_ALERT, ev.check, svc), ev.at)
                changed = True
            elif isinstance(ev, DowntimeOpened):
                self._down[ev.check] = _Down(ev.start, ev.reason, ev.detail)
                moved.append(ev.check)
            elif isinstance(ev, DowntimeClosed):
                self._down.pop(ev.check, None)
                moved.append(ev.check)
        if moved:
            changed |= self._refresh_services(moved)
        for sev in service_events:
            key = (SERVICE_ALERT, "", sev.service)
            if isinstance(sev, ServiceDowntimeRecorded):  # over already: fire and resolve
                past = self._service_alert(sev.service, sev.start, sev.reason, sev.detail,
                                           past=True)
                self._fire(past)
                self._resolve(key, sev.end, past)
            elif isinstance(sev, ServiceDowntimeOpened):
                self._fire(self._service_alert(sev.service, sev.start, sev.reason, sev.detail))
            elif isinstance(sev, ServiceDowntimeClosed):
                fallback = self._service_alert(sev.service, sev.start, "", "")
                self._resolve(key, sev.end, fallback)
            changed = True
        return changed

    def succeeded(self, check: str, at: datetime) -> None:
        self.last_success[check] = at

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
            if snap.state is CheckState.DOWN and snap.downtime_start is not None:
                self._down[name] = _Down(snap.downtime_start, snap.streak_reason or "unknown",
                                         snap.streak_detail)
            if snap.state in (CheckState.ALERTING, CheckState.DOWN) and snap.streak_start:
                reason = snap.streak_reason or "unknown"
                for svc in self.subjects.services_of(name):
                    self._fire(self._check_alert(name, svc, snap.streak_start, reason,
                                                 snap.streak_detail, snap.consecutive_failures))
        for service, start in open_services.items():
            self._fire(self._service_alert(service, start, "unknown", "open at daemon start"))

    def reconfigure(self, subjects: Subjects) -> None:
        """A reload: alerts raised from now on carry the new services, labels and words."""
        self.subjects = subjects
        self._down = {c: d for c, d in self._down.items() if c in subjects.checks}

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
        return [a.payload(now, valid_for) for a in alerts]
