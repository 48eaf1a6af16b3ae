"""An agent's share of its location's work: which unit each entry of a batch belongs to,
and the fencing token it holds for each unit (monitord/fleet/assignment.py says why).

Pure bookkeeping: a batch in, the units and tokens its evidence is written
under out. An entry that names no unit (a config reload's note, a gap of the
whole agent) is the agent's own and needs no token.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from monitord.core.events import DowntimeClosed, DowntimeOpened
from monitord.storage.interface import (
    Batch,
    CheckCommit,
    Entry,
    EventCommit,
    QualityCommit,
    ServiceCommit,
)

__all__ = ["Shares", "interval_news"]


@dataclass
class Shares:
    unit_of_check: Mapping[str, str]
    unit_of_service: Mapping[str, str]
    tokens: dict[str, int] = field(default_factory=dict)  # the units this agent holds now

    def unit_of(self, entry: Entry) -> str | None:
        match entry:
            case CheckCommit():
                return self.unit_of_check.get(entry.snapshot.check)
            case ServiceCommit() if entry.events:
                return self.unit_of_service.get(entry.events[0].service)
            case QualityCommit() if entry.changes:
                return self.unit_of_service.get(entry.changes[0].service)
            case EventCommit() if entry.events:
                ev = entry.events[0]
                names = self.unit_of_check if ev.level == "check" else self.unit_of_service
                return names.get(ev.subject)
            case _:
                return None

    def split(self, batch: Batch) -> Batch:
        """The batch with each standalone-event entry split per unit, so each entry has one."""
        out: list[Entry] = []
        for entry in batch.entries:
            if isinstance(entry, EventCommit) and len(entry.events) > 1:
                out.extend(EventCommit((ev,)) for ev in entry.events)
            else:
                out.append(entry)
        return replace(batch, entries=tuple(out))

    def tokens_for(self, batch: Batch) -> dict[str, int]:
        """The tokens this batch is written under (units it touches that we hold)."""
        out: dict[str, int] = {}
        for entry in batch.entries:
            unit = self.unit_of(entry)
            if unit is not None and unit in self.tokens:
                out[unit] = self.tokens[unit]
        return out

    def checks_of(self, units: Iterable[str]) -> list[str]:
        wanted = set(units)
        return [c for c, u in self.unit_of_check.items() if u in wanted]

    def services_of(self, units: Iterable[str]) -> list[str]:
        wanted = set(units)
        return [s for s, u in self.unit_of_service.items() if u in wanted]


def interval_news(batch: Batch) -> datetime | None:
    """The earliest instant whose downtime this batch changes (the judge looks again from there)."""
    starts: list[datetime] = []
    for entry in batch.entries:
        if isinstance(entry, CheckCommit):
            starts.extend(e.start for e in entry.events
                          if isinstance(e, DowntimeOpened | DowntimeClosed))
        elif isinstance(entry, ServiceCommit):
            starts.extend(e.start for e in entry.events)
    return min(starts, default=None)
