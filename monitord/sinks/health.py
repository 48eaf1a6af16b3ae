"""Health of the alert paths as metrics: deliveries, publishes and the outbox backlog.

Why here and not in monitord/sinks/metrics.py: each provider owns what it counts,
and registers it on the daemon's registry only when it is configured, so an
installation without MQTT exports no outbox gauge that could only read 0.

Outbox bound, the policy: **never drop**. Every row is an announcement of a
recorded state change, and a dropped one would be a silent gap that consumers
cannot tell from loss. Instead, above `mqtt.max_pending` rows the publisher
logs `outbox_backlog` (once per crossing, and `outbox_backlog_cleared` when it
is back under) and the gauges let Prometheus alert on
`monitord_outbox_pending_events > monitord_outbox_pending_limit`
(`MonitordOutboxBacklog` in deploy/). The SQLite file grows by a few hundred
bytes per row meanwhile, so 100,000 rows is a few tens of MB.
"""

from __future__ import annotations

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge

log = structlog.get_logger("monitord.sinks")

RESULTS = ("success", "failure")


class ResultCounter:
    """A counter by `result`, both series exported from the start (a rate of 0 is news too)."""

    def __init__(self, name: str, documentation: str, registry: CollectorRegistry) -> None:
        self.counter = Counter(name, documentation, ["result"], registry=registry)
        for result in RESULTS:
            self.counter.labels(result)

    def count(self, ok: bool) -> None:
        self.counter.labels("success" if ok else "failure").inc()


class DeliveryMetrics:
    """Alertmanager: one count per POST of alerts, and per silences request, to one URL."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.deliveries = ResultCounter(
            "monitord_alert_deliveries",
            "POSTs of alerts to an Alertmanager, by result (failure = not 2xx or unreachable).",
            registry,
        )
        self.silences = ResultCounter(
            "monitord_alert_silence_requests",
            "Requests to an Alertmanager's silences API (maintenance windows), by result.",
            registry,
        )

    def delivered(self, ok: bool) -> None:
        self.deliveries.count(ok)

    def silenced(self, ok: bool) -> None:
        self.silences.count(ok)


class MqttMetrics:
    """MQTT: publishes by result, and the outbox backlog against its limit."""

    def __init__(self, registry: CollectorRegistry, max_pending: int) -> None:
        self.publishes = ResultCounter(
            "monitord_mqtt_publishes",
            "MQTT publishes of outbox rows, by result (success = PUBACK received).",
            registry,
        )
        self.pending = Gauge(
            "monitord_outbox_pending_events",
            "Outbox rows not yet acknowledged by the broker (read at each drain or retry).",
            registry=registry,
        )
        self.limit = Gauge(
            "monitord_outbox_pending_limit",
            "mqtt.max_pending: above it the backlog is reported; rows are never dropped.",
            registry=registry,
        )
        self.limit.set(max_pending)
        self._max = max_pending
        self._over = False

    def published(self, ok: bool) -> None:
        self.publishes.count(ok)

    def backlog(self, rows: int) -> None:
        """Set the gauge; log once when the backlog crosses the limit and once when it clears."""
        self.pending.set(rows)
        over = rows > self._max
        if over and not self._over:
            log.warning("outbox_backlog", pending=rows, limit=self._max,
                        policy="kept, never dropped: check the broker (mqtt_unavailable)")
        elif self._over and not over:
            log.info("outbox_backlog_cleared", pending=rows, limit=self._max)
        self._over = over
