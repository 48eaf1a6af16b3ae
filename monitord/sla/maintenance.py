"""Maintenance windows expanded into UTC intervals, and judged against a policy.

Why judged: a window only takes time out of the SLA when the contract allows
it. voizXL §6 requires regular maintenance announced 14 days ahead and
necessary maintenance 24 h ahead; a window announced later than the policy's
`min_notice` for its kind is reported but not honoured, so downtime inside it
counts. Window times are wall clock (Europe/Amsterdam unless the window says
otherwise): an RRULE occurrence at Sat 01:00 lasting 4h ends at 05:00 local,
which is 5 real hours on the night the clocks go back.

Probes keep running in maintenance; the alert sinks ask `in_maintenance`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from monitord.core.intervals import Interval
from monitord.sla.calendars import span_intervals
from monitord.sla.config import MaintenanceConfig, OneOffWindow, RecurringWindow, SlaPolicy


@dataclass(frozen=True, slots=True)
class MaintenanceOccurrence:
    window: str
    kind: str
    interval: Interval
    announced_at: datetime | None  # None: a standing window of the contract
    starts_at: datetime  # before clipping to the period: notice is measured to it
    honoured: bool = True
    note: str = ""


def _applies(services: list[str], service: str) -> bool:
    return not services or service in services


def _rrule_intervals(win: RecurringWindow, window: Interval) -> list[Interval]:
    assert win.rrule is not None and win.start is not None and win.duration is not None
    tz = ZoneInfo(win.timezone)
    length = timedelta(seconds=win.duration)
    rule = rrulestr(win.rrule, dtstart=win.start)
    lo = window.start.astimezone(tz).replace(tzinfo=None) - length - timedelta(days=1)
    hi = window.end.astimezone(tz).replace(tzinfo=None) + timedelta(days=1)
    out: list[Interval] = []
    for local in rule.between(lo, hi, inc=True):
        start = local.replace(tzinfo=tz).astimezone(UTC)
        end = (local + length).replace(tzinfo=tz).astimezone(UTC)
        if start < window.end and end > window.start:
            out.append(Interval(start, max(start, end)))
    return out


def window_occurrences(
    win: RecurringWindow | OneOffWindow, window: Interval
) -> list[tuple[Interval, datetime]]:
    """One window's occurrences overlapping `window`: (clipped interval, true start).

    The same for every service the window applies to, so a fleet report
    computes it once per window and period.
    """
    if isinstance(win, OneOffWindow):
        ivs = [Interval(win.start.astimezone(UTC), win.end.astimezone(UTC))]
    elif win.weekly:
        # weekly spans are laid out on a wider window so a clipped one keeps its true start
        wide = Interval(window.start - timedelta(days=2), window.end + timedelta(days=2))
        ivs = span_intervals(win.weekly, wide, ZoneInfo(win.timezone))
    else:
        ivs = _rrule_intervals(win, window)
    out: list[tuple[Interval, datetime]] = []
    for iv in ivs:
        clipped = iv.clip(window.start, window.end)
        if clipped is not None:
            out.append((clipped, iv.start))
    return out


def occurrences(cfg: MaintenanceConfig, service: str, window: Interval) -> list[MaintenanceOccurrence]:
    """Every window occurrence for `service` overlapping `window`, clipped to it, unjudged."""
    out: list[MaintenanceOccurrence] = []
    windows: list[RecurringWindow | OneOffWindow] = [*cfg.recurring, *cfg.windows]
    for win in windows:
        if _applies(win.services, service):
            out.extend(
                MaintenanceOccurrence(win.name, win.kind, iv, win.announced_at, start)
                for iv, start in window_occurrences(win, window)
            )
    return sorted(out, key=lambda o: (o.interval, o.window))


def judge(occ: MaintenanceOccurrence, policy: SlaPolicy) -> MaintenanceOccurrence:
    """Honoured unless the policy does not accept its kind or it was announced too late."""
    if policy.maintenance_kinds is not None and occ.kind not in policy.maintenance_kinds:
        return _refuse(occ, f"kind {occ.kind!r} is not accepted by policy {policy.name!r}")
    notice = policy.min_notice.get(occ.kind)
    if notice is None and policy.min_notice and occ.announced_at is not None:
        # a documented choice (issue 16): the policy sets no notice for this kind, so none
        # is checked; said on the occurrence (and by `sla compute` on stderr), never silent
        return MaintenanceOccurrence(
            occ.window, occ.kind, occ.interval, occ.announced_at, occ.starts_at, True,
            f"policy {policy.name!r} sets no min_notice for kind {occ.kind!r}:"
            " honoured without a notice check",
        )
    if notice is not None and occ.announced_at is not None:
        given = occ.starts_at - occ.announced_at
        if given < timedelta(seconds=notice):
            return _refuse(
                occ,
                f"announced {human(given)} ahead, {occ.kind} maintenance needs"
                f" {human(timedelta(seconds=notice))}",
            )
    return occ


def _refuse(occ: MaintenanceOccurrence, note: str) -> MaintenanceOccurrence:
    return MaintenanceOccurrence(
        occ.window, occ.kind, occ.interval, occ.announced_at, occ.starts_at, False, note
    )


def human(length: float | timedelta) -> str:
    """'6d11h', '4h', '30m' (notes and caps say durations the way contracts do)."""
    delta = length if isinstance(length, timedelta) else timedelta(seconds=length)
    total = int(delta.total_seconds())
    sign, seconds = ("-" if total < 0 else ""), abs(total)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    return sign + ("".join(parts) or f"{seconds}s")


def maintenance_for(
    cfg: MaintenanceConfig, policy: SlaPolicy, service: str, window: Interval
) -> list[MaintenanceOccurrence]:
    """Occurrences for `service` in `window`, each judged against `policy`."""
    return [judge(o, policy) for o in occurrences(cfg, service, window)]


def in_maintenance(cfg: MaintenanceConfig, service: str, t: datetime) -> bool:
    """Is `service` inside an announced maintenance window at `t`? (alert suppression)

    A window counts from the moment it was announced: one announced after `t`
    cannot have suppressed an alert at `t`. Policy notice rules do not apply:
    they decide SLA accounting, not whether the NOC is paged for planned work.
    """
    probe = Interval(t, t + timedelta(microseconds=1))
    return any(
        o.announced_at is None or o.announced_at <= t
        for o in occurrences(cfg, service, probe)
    )
