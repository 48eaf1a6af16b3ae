"""Incident review: an SLA manager's append-only decisions, and what they do to a report.

Why append-only: the figure is argued over, so every change to how an
interval counts is an audit record — who (the API token's name), when,
what, why — and the recorded intervals themselves never change. A report
folds the records in order (the last word on an interval wins) and shows
the reviewed figures, the figures before review, the review version (the
last record applied) and the entries.

Actions:
- `reclassify` an interval's priority (XTIUM: priority is agreed with the
  customer; a P1-only policy then stops or starts counting it);
- `group` intervals as one problem (several reports count once: one
  interruption, one incident, one restore time);
- `exclude` a span of a service with a category — force majeure, a change
  the customer asked for, a maintenance overrun agreed afterwards, a fault
  of the monitoring itself — which then counts like honoured maintenance
  under the policy (Xelion: as available; excluded elsewhere), and is shown
  as such;
- `ticket` and `note`: references and text shown with the incident.

Intervals are named by their source: `store:<id>` for the daemon's record.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from monitord.sla.availability import Downtime
from monitord.sla.config import PRIORITIES
from monitord.sla.maintenance import MaintenanceOccurrence

if TYPE_CHECKING:  # only named here: `sla compute` reads no store, so needs no record types
    from monitord.storage.records import ReviewRecord

Action = Literal["reclassify", "group", "exclude", "ticket", "note"]
ACTIONS: tuple[Action, ...] = ("reclassify", "group", "exclude", "ticket", "note")
CATEGORIES = ("force_majeure", "customer_change", "maintenance_overrun", "monitoring_fault")
EXCLUDED_KIND = "excluded:"  # maintenance kind prefix of a review exclusion


if TYPE_CHECKING:
    ReviewEntry = ReviewRecord  # the stored record is the audit entry, unchanged


def describe(e: ReviewEntry) -> str:
    """One line for the report's review log."""
    what = {
        "reclassify": f"reclassified {', '.join(e.targets)} as {e.value}",
        "group": f"grouped {', '.join(e.targets)} as one problem",
        "exclude": f"excluded {_span(e.start, e.end)} as {e.value}",
        "ticket": f"ticket {e.value} on {', '.join(e.targets)}",
        "note": f"note on {', '.join(e.targets)}: {e.value}",
    }.get(e.action, e.action)
    return what + (f" ({e.reason})" if e.reason else "")


def _span(start: datetime | None, end: datetime | None) -> str:
    return f"{start.isoformat() if start else '?'} .. {end.isoformat() if end else '?'}"


@dataclass
class ReviewFold:
    """The effect of a service's review records, in order."""

    version: int = 0  # id of the last record applied; 0: not reviewed
    priorities: dict[str, str] = field(default_factory=dict)  # source -> priority
    groups: list[frozenset[str]] = field(default_factory=list)
    exclusions: list[ReviewEntry] = field(default_factory=list)
    tickets: dict[str, list[str]] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    log: list[ReviewEntry] = field(default_factory=list)

    @property
    def changes_figures(self) -> bool:
        return bool(self.priorities or self.groups or self.exclusions)


def fold(entries: Iterable[ReviewEntry]) -> ReviewFold:
    out = ReviewFold()
    for e in sorted(entries, key=lambda r: r.id):
        out.version = max(out.version, e.id)
        out.log.append(e)
        if e.action == "reclassify" and e.value in PRIORITIES:
            for t in e.targets:
                out.priorities[t] = e.value
        elif e.action == "group" and len(e.targets) > 1:
            out.groups.append(frozenset(e.targets))
        elif e.action == "exclude" and e.start is not None and e.end is not None:
            out.exclusions.append(e)
        elif e.action == "ticket":
            for t in e.targets:
                out.tickets.setdefault(t, []).append(e.value)
        elif e.action == "note":
            for t in e.targets:
                out.notes.setdefault(t, []).append(f"{e.who}: {e.value}")
    return out


def reviewed(downtimes: Sequence[Downtime], review: ReviewFold | None) -> list[Downtime]:
    """The downtimes with reviewed priorities (the recorded ones are untouched)."""
    if review is None or not review.priorities:
        return list(downtimes)
    return [
        d._replace(priority=review.priorities[d.source]) if d.source in review.priorities else d
        for d in downtimes
    ]


def exclusion_occurrences(review: ReviewFold | None) -> list[MaintenanceOccurrence]:
    """Exclusions as honoured maintenance of kind `excluded:<category>` (shown as `excluded`)."""
    if review is None:
        return []
    from monitord.core.intervals import Interval

    out = []
    for e in review.exclusions:
        assert e.start is not None and e.end is not None
        out.append(MaintenanceOccurrence(
            f"review-{e.id}", EXCLUDED_KIND + e.value, Interval(e.start, e.end), None, e.start,
            True, f"{e.who}: {e.reason}" if e.reason else e.who,
        ))
    return out


def grouped_interruptions(
    hit: Iterable[int], counted: Sequence[Downtime], groups: Sequence[frozenset[str]]
) -> int:
    """Interruptions when reviews grouped problems: hit problems joined by a group count once.

    `hit` are the starts (microseconds) of the counted problems with counted
    time, as the engine measured them; `counted` the counted downtimes.
    """
    from monitord.sla.timebase import to_us, union_pairs

    hit = set(hit)
    problems = union_pairs((to_us(d.start), to_us(d.end)) for d in counted)
    owner: dict[str, int] = {}
    for d in counted:
        s = to_us(d.start)
        for ps, pe in problems:
            if ps <= s < pe or (s == ps):
                if ps in hit and d.source:
                    owner[d.source] = ps
                break
    parent = {p: p for p in hit}

    def find(p: int) -> int:
        while parent[p] != p:
            p = parent[p]
        return p

    for group in groups:
        roots = {find(owner[s]) for s in group if s in owner}
        if len(roots) > 1:
            keep = min(roots)
            for r in roots:
                parent[r] = keep
    return len({find(p) for p in hit})
