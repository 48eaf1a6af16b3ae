"""`monitord sla compute` without the command line: which service gets which policy, and the reports.

Why here and not in the CLI module: the choice of services and policies is
where an SLA manager's mistakes turn into silent wrong figures (a mistyped
service, a policy applied to services that have another); it is rules, so
it lives next to the engine and is tested as such. The CLI only parses
arguments and writes what this returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from monitord.errors import SlaError
from monitord.sla.config import OneOffWindow, RecurringWindow
from monitord.sla.engine import Job, SlaSetup, compute_many, period_for, with_windows
from monitord.sla.inputs import IntervalFile
from monitord.sla.periods import Period
from monitord.sla.report import Report
from monitord.sla.sections import SlaSections


@dataclass
class Plan:
    setup: SlaSetup
    jobs: list[Job]
    timezone: str
    warnings: list[str] = field(default_factory=list)


def setup_of(sections: SlaSections) -> SlaSetup:
    return SlaSetup.of(sections.policies, sections.calendars, sections.maintenance, sections.services)


def plan(
    sections: SlaSections,
    data: IntervalFile,
    *,
    period: str,
    policy: str | None = None,
    services: list[str] | None = None,
) -> Plan:
    """Jobs for an intervals file; every mistake that would silently change a figure is an
    error, every documented choice that might surprise is a warning (issue 16).

    Without `policy`: every configured service with an `sla_policy` (or the
    ones named) under its own policy — the bulk form. With `policy`: that
    policy for the services named, or every service in the file (a warning
    names each whose configured policy differs).
    """
    setup = with_windows(setup_of(sections), data.windows)
    configured = {s.name: s for s in sections.services}
    in_file = data.services()
    warnings = list(data.warnings)
    known = set(configured) | set(in_file)
    _check_window_services(setup, known)
    if policy is not None:
        chosen = setup.policy(policy)
        names = services or in_file
        if not names:
            raise SlaError("the intervals file has no downtime rows; name the service with --service")
        for name in names:
            if name not in known:
                raise SlaError(
                    f"unknown service {name!r}: not in the intervals file and not configured"
                    f" (in the file: {', '.join(in_file) or 'none'}; configured:"
                    f" {', '.join(sorted(configured)) or 'none'})"
                )
            other = configured[name].sla_policy if name in configured else None
            if other is not None and other != chosen.name:
                warnings.append(
                    f"applying policy {chosen.name!r} to {name!r}, which is configured with"
                    f" {other!r} (drop --policy to use each service's own)"
                )
        once = period_for(chosen, period)
        applied = [(n, chosen, once) for n in names]
        return Plan(setup, applied, chosen.timezone, warnings + _notice_warnings(setup, applied))
    if services:
        for name in services:
            if name not in configured:
                raise SlaError(
                    f"unknown service {name!r} (configured: {', '.join(sorted(configured)) or 'none'})"
                )
        picked = [configured[n] for n in services]
    else:
        picked = [s for s in sections.services if s.sla_policy is not None]
        if not picked:
            raise SlaError(
                "no service in the config has an sla_policy: set one, or name the policy"
                " with --policy"
            )
        unplanned = [n for n in in_file if n not in configured]
        if unplanned:
            raise SlaError(
                f"the intervals file names service(s) the config does not: {', '.join(unplanned)};"
                " add them with an sla_policy, or name the policy with --policy"
            )
    jobs: list[Job] = []
    periods: dict[str, Period] = {}  # per policy: a fleet shares a few
    for svc in picked:
        if svc.sla_policy is None:
            raise SlaError(
                f"service {svc.name!r} has no sla_policy: set one in the config, or name the"
                " policy with --policy"
            )
        chosen = setup.policy(svc.sla_policy)
        found = periods.get(chosen.name)
        if found is None:
            found = periods[chosen.name] = period_for(chosen, period)
        jobs.append((svc.name, chosen, found))
    return Plan(setup, jobs, jobs[0][1].timezone, warnings + _notice_warnings(setup, jobs))


def _windows(setup: SlaSetup) -> list[RecurringWindow | OneOffWindow]:
    return [*setup.maintenance.recurring, *setup.maintenance.windows]


def _check_window_services(setup: SlaSetup, known: set[str]) -> None:
    """A window naming a service nobody knows would silently drop that maintenance."""
    for win in _windows(setup):
        for name in win.services:
            if name not in known:
                raise SlaError(
                    f"maintenance window {win.name!r} names service {name!r}, which is neither"
                    f" configured nor in the intervals file (known: {', '.join(sorted(known))})"
                )


def _notice_warnings(setup: SlaSetup, jobs: list[Job]) -> list[str]:
    out: list[str] = []
    for policy in {id(p): p for _, p, _ in jobs}.values():
        if not policy.min_notice:
            continue
        for win in _windows(setup):
            if win.announced_at is not None and win.kind not in policy.min_notice:
                out.append(
                    f"window {win.name!r}: policy {policy.name!r} sets no min_notice for kind"
                    f" {win.kind!r}, so it is honoured without a notice check"
                )
    return out


def reports(p: Plan, data: IntervalFile, now: datetime) -> Iterator[Report]:
    """The plan's reports, one at a time (for streaming output)."""
    return compute_many(p.setup, p.jobs, now=now, downtimes=data.downtimes, gaps=data.gaps)
