"""Builds every sink a config asks for, so the daemon wires them in a few lines.

Sinks consume the pipeline's stream and nothing else. Those that deliver
over the network (Alertmanager, MQTT) hand their loops to the supervisor
through `tasks()`; `close()` is their last bounded flush at shutdown.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from monitord.config.load import EffectiveCheck
from monitord.config.models import Config
from monitord.core.stream import Committed, RecordHealth, Sink
from monitord.core.supervisor import Health, TaskSpec
from monitord.sinks.alertmanager import AlertmanagerSink
from monitord.sinks.alerts import Subjects
from monitord.sinks.budgets import QualitySink
from monitord.sinks.callquality import CallQualitySink
from monitord.sinks.calls import CallSink
from monitord.sinks.exposition import InfoCollector
from monitord.sinks.health import DeliveryMetrics, MqttMetrics
from monitord.sinks.live import LiveView
from monitord.sinks.logs import LogSink, services_of
from monitord.sinks.metrics import Metrics, MetricsSink
from monitord.sinks.mqtt import MqttSink
from monitord.sinks.silences import SilenceSink
from monitord.sinks.snmp import SnmpSink
from monitord.storage.interface import OutboxQueue

__all__ = ["HealthSink", "Sinks", "build_sinks", "daemon_url"]


def daemon_url(config: Config) -> str:
    """How people reach this daemon: `alertmanager.generator_url`, else its listen address
    (the host's name when it listens on every address)."""
    if config.alertmanager is not None and config.alertmanager.generator_url:
        return config.alertmanager.generator_url.rstrip("/")
    host, port = config.daemon.listen_address
    if host in ("0.0.0.0", "::", ""):
        host = socket.getfqdn()
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


class HealthSink:
    """The record's health as a /healthz problem: failing until the backlog is written."""

    QUIET = False  # reads RecordHealth events only

    def __init__(self, health: Health) -> None:
        self._health = health

    def consume(self, c: Committed) -> None:
        for ev in c.events:
            if isinstance(ev, RecordHealth):
                self._health.set("record", None if ev.healthy else _describe(ev))


def _describe(ev: RecordHealth) -> str:
    parts = [f"{ev.waiting} change(s) waiting for the store"]
    if ev.failing_since is not None:
        parts.append(f"failing since {ev.failing_since.isoformat()}: {ev.error}")
    if ev.lost_since is not None:
        parts.append(f"record frozen since {ev.lost_since.isoformat()} (backlog full)")
    return "; ".join(parts)


@dataclass
class Sinks:
    all: list[Sink]
    live: LiveView
    budgets: QualitySink
    alertmanager: AlertmanagerSink | None = None
    silences: SilenceSink | None = None
    mqtt: MqttSink | None = None
    tasks: list[TaskSpec] = field(default_factory=list)


def build_sinks(
    config: Config,
    checks: Sequence[EffectiveCheck],
    metrics: Metrics,
    health: Health,
    outbox: OutboxQueue,
    registry: CollectorRegistry,
) -> Sinks:
    checks_services = services_of(config.services)
    info = InfoCollector(checks, config.services)
    registry.register(info)
    live = LiveView(checks, config.services, config.daemon.timezone)
    budgets = QualitySink(registry, checks)
    out = Sinks(
        all=[
            MetricsSink(metrics),
            info,
            LogSink(checks_services),
            SnmpSink(registry, checks),
            CallSink(registry, checks),
            CallQualitySink(registry, checks, config.services),
            budgets,
            live,
            HealthSink(health),
        ],
        live=live,
        budgets=budgets,
    )
    site = config.daemon.site
    if config.alertmanager is not None:
        subjects = Subjects.build(site, checks, config.services, daemon_url(config),
                                  config.alertmanager.runbook_url)
        delivery = DeliveryMetrics(registry)
        out.alertmanager = AlertmanagerSink(config.alertmanager, subjects, metrics=delivery)
        out.silences = SilenceSink(config.alertmanager, site, metrics=delivery)
        out.all.extend([out.alertmanager, out.silences])
        out.tasks.extend([*out.alertmanager.tasks(), *out.silences.tasks()])
    if config.mqtt is not None:
        # the store was opened with outbox=True (see Daemon): it holds the messages
        out.mqtt = MqttSink(config.mqtt, site, outbox,
                            checks=[c.name for c in checks],
                            services=[s.name for s in config.services],
                            metrics=MqttMetrics(registry, config.mqtt.max_pending))
        out.all.append(out.mqtt)
        out.tasks.extend(out.mqtt.tasks())
    return out
