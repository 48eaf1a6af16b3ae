"""Builds the alert providers a config asks for, so the daemon wires them in a few lines.

Each provider is a pipeline sink with a background task: the daemon starts
them after the pipeline is built (so restored state is seeded first) and
stops them before the store closes (the MQTT publisher reads the outbox).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from prometheus_client import CollectorRegistry

from monitord.config.models import Config
from monitord.core.announce import Announcer
from monitord.core.events import CheckSnapshot
from monitord.core.pipeline import ProbeOutcome
from monitord.sinks.alertmanager import AlertmanagerSink, InMaintenance
from monitord.sinks.health import DeliveryMetrics, MqttMetrics
from monitord.sinks.mqtt import MqttSink
from monitord.storage.base import Store


class AsyncSink(Protocol):
    def outcome(self, outcome: ProbeOutcome) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def build_alerting(
    config: Config,
    store: Store,
    snapshots: Mapping[str, CheckSnapshot],
    open_services: Mapping[str, datetime],
    services_of: Mapping[str, Sequence[str]],
    in_maintenance: InMaintenance | None = None,
    announcer: Announcer | None = None,
    registry: CollectorRegistry | None = None,
) -> list[AsyncSink]:
    """`registry`: where the providers' health metrics go (the daemon's; a private one if None)."""
    registry = registry if registry is not None else CollectorRegistry()
    sinks: list[AsyncSink] = []
    site = config.daemon.site
    if config.alertmanager is not None:
        labels_of = {c.name: c.labels for c in config.checks}
        am = AlertmanagerSink(config.alertmanager, site, services_of, labels_of,
                              in_maintenance=in_maintenance, metrics=DeliveryMetrics(registry))
        am.seed(snapshots, open_services)
        sinks.append(am)
    if config.mqtt is not None:
        # the store was opened with outbox=True (see Daemon): it holds the messages
        mqtt = MqttSink(config.mqtt, site, store,
                        metrics=MqttMetrics(registry, config.mqtt.max_pending))
        sinks.append(mqtt)
        if announcer is not None:  # with MQTT its events also go out through the outbox
            announcer.wake = mqtt.wake
    if announcer is not None:  # reboots and maintenance starts/ends are logged either way
        sinks.append(announcer)
    return sinks
