"""Call-quality priorities as gauges: `monitord_service_call_quality_priority{service}`.

The judgement (XTIUM P1-P3 over a service's call window) is a pipeline step
(monitord/core/callquality.py) and is recorded with the call that decided
it; this sink only exports where each service stands: the priority (0 none,
else 1..3), the window's shares and its size. A restart resumes the open
stored priority (the `Resumed` event), so the gauge neither drops nor jumps.
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Gauge

from monitord.config.load import EffectiveCheck
from monitord.config.models import ServiceConfig
from monitord.core.callquality import QualityChange
from monitord.core.stream import Committed, QualityWindow, Reconfigured, Resumed

__all__ = ["CallQualitySink"]


class CallQualitySink:
    QUIET = False  # reads quality events only

    def __init__(self, registry: CollectorRegistry, checks: Sequence[EffectiveCheck],
                 services: Sequence[ServiceConfig]) -> None:
        calls = {c.name for c in checks if c.type == "sip_call"}
        self._services = [s.name for s in services if calls.intersection(s.checks)]
        self.priority = Gauge(
            "monitord_service_call_quality_priority",
            "XTIUM call-quality priority of the service over its call window: 0 none, 1 P1"
            " (critical), 2 P2, 3 P3.", ["service"], registry=registry,
        )
        self._share = Gauge(
            "monitord_service_call_quality_share",
            "Share 0..1 of the window's answered calls with poor audio (MOS < 3.5 or none)"
            " or dropped.", ["service", "kind"], registry=registry,
        )
        self._calls = Gauge(
            "monitord_service_call_quality_window_calls",
            "Answered calls in the service's call-quality window.", ["service"],
            registry=registry,
        )
        for name in self._services:
            self.priority.labels(name).set(0)

    def consume(self, c: Committed) -> None:
        for ev in c.events:
            if isinstance(ev, QualityWindow):
                f = ev.figures
                self._share.labels(ev.service, "poor_audio").set(f.poor_audio_share)
                self._share.labels(ev.service, "dropped").set(f.dropped_share)
                self._calls.labels(ev.service).set(f.calls)
            elif isinstance(ev, QualityChange):
                self.priority.labels(ev.service).set(int(ev.after))
            elif isinstance(ev, Reconfigured):
                calls = {c.name for c in ev.checks if c.type == "sip_call"}
                names = [s.name for s in ev.services if calls.intersection(s.checks)]
                for name in set(names) - set(self._services):
                    self.priority.labels(name).set(0)
                self._services = names
            elif isinstance(ev, Resumed):
                for change in ev.quality:
                    self.priority.labels(change.service).set(int(change.after))
