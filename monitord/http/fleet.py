"""The HTTP side of a fleet (docs/fleet.md): series labelled with their location, each
judged interval with its locations' evidence, and the agent's view of the fleet.

Why labels at exposition: every series an agent exports belongs to its
location, and a central Prometheus fed by several sites must tell them
apart; adding `location` and `site` to each sample here keeps the metric
definitions (monitord/sinks/metrics.py) the same for a single daemon.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from aiohttp import web
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from monitord.http.context import CTX, iso
from monitord.storage.records import DowntimeRecord, EvidenceRecord, SubjectGapRecord

__all__ = ["Labelled", "evidence_json", "register", "subject_gap_json"]


class Labelled(Collector):
    """A registry whose every sample carries `labels` too (a sample's own label wins)."""

    def __init__(self, registry: Collector, labels: Mapping[str, str]) -> None:
        self._registry = registry
        self._labels = dict(labels)

    def collect(self) -> Iterable[Metric]:
        for family in self._registry.collect():
            out = Metric(family.name, family.documentation, family.type, family.unit)
            for s in family.samples:
                out.add_sample(s.name, {**self._labels, **s.labels}, s.value, s.timestamp,
                               s.exemplar)
            yield out


def evidence_json(d: DowntimeRecord, evidence: Sequence[EvidenceRecord], now: datetime
                  ) -> list[dict[str, Any]]:
    """The locations' own intervals that overlap a judged one, oldest first."""
    end = d.end or now
    out = []
    for e in evidence:
        if e.level != d.level or e.name != d.name:
            continue
        if not (e.start < end and d.start < (e.end or now)) and e.start != d.start:
            continue
        out.append({"location": e.location, "start": iso(e.start), "end": iso(e.end),
                    "open": e.end is None, "confirmed_at": iso(e.confirmed_at),
                    "reason": e.reason, "detail": e.detail, "end_cause": e.end_cause})
    return out


def subject_gap_json(g: SubjectGapRecord) -> dict[str, Any]:
    return {"level": g.level, g.level: g.name, "start": iso(g.start), "end": iso(g.end),
            "duration_seconds": (g.end - g.start).total_seconds(), "cause": g.cause}


async def fleet_status(request: web.Request) -> web.Response:
    fleet = request.app[CTX].fleet
    if fleet is None:
        return web.json_response({"error": "this daemon is not part of a fleet"}, status=404)
    return web.json_response(fleet.status())


def register(app: web.Application) -> None:
    app.router.add_get("/api/v1/fleet", fleet_status)
