"""Health metrics of the alert paths: deliveries and publishes by result, the outbox backlog."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from aiohttp import web
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from monitord.config.alerting import MqttConfig
from monitord.sinks.alertmanager import AlertmanagerSink
from monitord.sinks.health import DeliveryMetrics, MqttMetrics
from monitord.sinks.mqtt import drain
from monitord.storage.sqlite import SqliteStore
from tests.unit.sinks.subjects import subjects
from tests.unit.sinks.test_alertmanager import RAISED, FakeAlertmanager, cfg
from tests.unit.sinks.test_mqtt import BrokenAfter
from tests.unit.storage.test_outbox import outage, t
from tests.unit.stream import running


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    got = registry.get_sample_value(name, labels)
    assert got is not None, (name, labels)
    return got


async def test_publishes_are_counted_by_result_and_the_backlog_follows(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    metrics = MqttMetrics(registry, max_pending=5)
    assert value(registry, "monitord_mqtt_publishes_total", result="failure") == 0
    assert value(registry, "monitord_outbox_pending_limit") == 5
    async with SqliteStore(tmp_path / "m.db", outbox=True) as store:
        await store.start_run(t(-10))
        await outage(store)  # 12 rows
        with capture_logs() as logs:
            metrics.backlog(await store.outbox_count())
            metrics.backlog(await store.outbox_count())  # still over: logged once
        assert [e["event"] for e in logs] == ["outbox_backlog"]
        assert value(registry, "monitord_outbox_pending_events") == 12
        with contextlib.suppress(ConnectionError):  # the 9th publish fails
            await drain(store, BrokenAfter(8), MqttConfig(batch=4), "ams", metrics)
        assert value(registry, "monitord_mqtt_publishes_total", result="success") == 8
        assert value(registry, "monitord_mqtt_publishes_total", result="failure") == 1
        with capture_logs() as logs:
            metrics.backlog(await store.outbox_count())  # 4 left: under the limit again
        assert [e["event"] for e in logs] == ["outbox_backlog_cleared"]
        assert value(registry, "monitord_outbox_pending_events") == 4


async def test_alertmanager_posts_are_counted_by_result() -> None:
    fake = FakeAlertmanager(refuse=2)
    app = web.Application()
    app.router.add_post("/api/v2/alerts", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    registry = CollectorRegistry()
    sink = AlertmanagerSink(
        cfg(urls=[url], retry_initial=0.05, retry_max=0.1),
        subjects("{checks: [{name: sbc-a, type: sip_options, target: 'sip:h'}],"
                 " services: [{name: pbx, checks: [sbc-a]}]}"),
        metrics=DeliveryMetrics(registry))
    try:
        async with running(sink):
            sink.book.apply([RAISED], [])
            for wake in sink._wake:
                wake.set()
            await asyncio.wait_for(fake.got.wait(), 5)
    finally:
        await runner.cleanup()
    assert value(registry, "monitord_alert_deliveries_total", result="failure") == 2
    assert value(registry, "monitord_alert_deliveries_total", result="success") >= 1
