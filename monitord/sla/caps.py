"""Maintenance caps (XTIUM §5: "at most about four hours a month"): beyond the cap is downtime.

Why: a contract that lets maintenance out of the figure only up to a
monthly allowance must not let a provider schedule its way out of every
outage. Per calendar month (the policy's zone), honoured maintenance is
taken in time order up to `maintenance_cap`; what lies beyond it — the
latest maintenance of that month — is no longer honoured and counts as
downtime (of the policy's first counted priority), with a note saying so.
The cap applies to maintenance windows only, not to review exclusions.
"""

from __future__ import annotations

from collections.abc import Sequence

from monitord.core.intervals import Interval
from monitord.sla.availability import Downtime
from monitord.sla.config import PRIORITIES, SlaPolicy
from monitord.sla.maintenance import MaintenanceOccurrence, human
from monitord.sla.timebase import Cover, Pair, clip_pairs, from_us, to_us, union_pairs

CAP_SOURCE = "maintenance-cap"


def counted_priority(policy: SlaPolicy) -> str:
    """The priority a capped hour is counted as: the most severe the policy counts."""
    if policy.downtime_counts == "all":
        return "P1"
    return min(policy.downtime_counts, key=PRIORITIES.index)


def beyond_cap(
    occurrences: Sequence[MaintenanceOccurrence], months: Sequence[Interval], cap_seconds: float
) -> list[Pair]:
    """Honoured maintenance beyond the cap in each month, in microseconds (latest first)."""
    cap_us = round(cap_seconds * 1_000_000)
    honoured = union_pairs(
        (to_us(o.interval.start), to_us(o.interval.end)) for o in occurrences if o.honoured
    )
    excess: list[Pair] = []
    for month in months:
        used = 0
        for s, e in clip_pairs(honoured, to_us(month.start), to_us(month.end)):
            if used + (e - s) <= cap_us:
                used += e - s
                continue
            keep = max(0, cap_us - used)
            used = cap_us
            excess.append((s + keep, e))
    return excess


def apply_cap(
    occurrences: Sequence[MaintenanceOccurrence],
    months: Sequence[Interval],
    policy: SlaPolicy,
) -> tuple[list[MaintenanceOccurrence], list[Downtime]]:
    """The occurrences with what lies beyond the cap refused, and that time as downtime."""
    if policy.maintenance_cap is None:
        return list(occurrences), []
    excess = beyond_cap(occurrences, months, policy.maintenance_cap)
    if not excess:
        return list(occurrences), []
    over = Cover(excess)
    cap = human(policy.maintenance_cap)
    note = f"beyond the {cap} monthly maintenance cap: counted as downtime"
    out: list[MaintenanceOccurrence] = []
    for o in occurrences:
        s, e = to_us(o.interval.start), to_us(o.interval.end)
        cut = over.overlapping(s, e)
        if not o.honoured or not cut:
            out.append(o)
            continue
        cursor = s
        for cs, ce in cut:
            if cs > cursor:
                out.append(_part(o, cursor, cs, True, o.note))
            out.append(_part(o, cs, ce, False, note))
            cursor = ce
        if cursor < e:
            out.append(_part(o, cursor, e, True, o.note))
    priority = counted_priority(policy)
    downs = [
        Downtime(from_us(s), from_us(e), priority, None, f"maintenance beyond the {cap} monthly cap",
                 CAP_SOURCE)
        for s, e in excess
    ]
    return sorted(out, key=lambda o: (o.interval, o.window)), downs


def _part(o: MaintenanceOccurrence, s: int, e: int, honoured: bool, note: str) -> MaintenanceOccurrence:
    return MaintenanceOccurrence(
        o.window, o.kind, Interval(from_us(s), from_us(e)), o.announced_at, o.starts_at,
        honoured, note,
    )
