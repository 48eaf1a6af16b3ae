"""Standalone events: reboots and maintenance windows, through the outbox with stable ids.

The Announcer is ticked by hand with `now` passed in, so window starts and
ends are tested to the microsecond without sleeping; the store is a real
SqliteStore with the outbox, and every payload is checked against the
published schema.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from monitord.config import effective_checks, parse_config
from monitord.core.announce import Announcer
from monitord.core.events import CheckSnapshot
from monitord.core.pipeline import ProbeOutcome
from monitord.sinks.mqtt import message, topic
from monitord.sinks.snmp import SnmpSink
from monitord.sla.config import MaintenanceConfig
from monitord.storage.base import StandaloneEvent
from monitord.storage.sqlite import SqliteStore
from probes.base import ProbeResult
from tests.unit.sinks.test_mqtt import VALIDATOR

T0 = datetime(2026, 10, 16, 18, 0, tzinfo=UTC)


def t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(tmp_path / "m.db", outbox=True)
    await s.open()
    await s.start_run(t(-60))
    try:
        yield s
    finally:
        await s.close()


def window(start: float, end: float, announced: float = -1000, name: str = "sbc-upgrade") -> Any:
    return {"name": name, "services": ["pbx"], "start": t(start), "end": t(end),
            "announced_at": t(announced), "kind": "regular"}


def config(*windows: Any) -> MaintenanceConfig:
    return MaintenanceConfig.model_validate({"windows": list(windows)})


async def published(store: SqliteStore) -> list[dict[str, Any]]:
    """What the publisher would send, validated against the schema."""
    out = []
    for row in await store.outbox_pending(1000):
        body = json.loads(message("ams", row))
        VALIDATOR.validate(body)
        assert topic("monitord", "ams", row) == f"monitord/ams/events/{row.kind}"
        out.append(body)
    return out


def kinds(bodies: list[dict[str, Any]]) -> list[tuple[str, datetime]]:
    return [(b["kind"], datetime.fromisoformat(b["at"])) for b in bodies]


async def test_a_keyed_event_is_logged_once_and_queued_for_mqtt_only_with_an_outbox(
    store: SqliteStore, tmp_path: Path
) -> None:
    ev = StandaloneEvent("reboot", "check", "pbx-up", t(0),
                         {"check": "pbx-up", "device": "127.0.0.5", "previous_uptime_seconds": 500.0,
                          "uptime_seconds": 3.0, "booted_at": "2026-10-16T17:59:57Z"}, key="ams/x")
    assert await store.record_event(ev) is True
    assert await store.record_event(ev) is False  # same key, still waiting: one row
    assert await store.outbox_count() == 1
    [body] = await published(store)
    assert body["kind"] == "reboot" and body["device"] == "127.0.0.5"
    with pytest.raises(ValueError, match="unknown event kind"):
        await store.record_event(StandaloneEvent("bogus", "check", "x", t(0), {}))
    [logged] = await store.events(kind="reboot")
    assert logged.subject == "pbx-up" and logged.body["device"] == "127.0.0.5"
    async with SqliteStore(tmp_path / "plain.db") as plain:  # no MQTT: kept, not queued
        assert await plain.record_event(ev) is True
        assert await plain.record_event(ev) is False
        assert await plain.outbox_count() == 0
        [kept] = await plain.events()
        assert kept.event_id == logged.event_id, "the log and MQTT share the event's id"
        assert (kept.kind, kept.at) == ("reboot", t(0))


async def test_window_start_and_end_follow_the_clock(store: SqliteStore) -> None:
    a = Announcer(store, "ams", lambda: config(window(10, 70)), ["pbx", "other"])
    a.resume_from(None, t(0))
    for minute in (0, 9.99):
        await a.tick(t(minute))
    assert await published(store) == []
    await a.tick(t(10.5))
    await a.tick(t(30))  # still inside: nothing new
    [started] = await published(store)
    assert (started["kind"], started["at"]) == ("maintenance_started", "2026-10-16T18:10:00Z")
    assert started["service"] == "pbx" and started["end"] == "2026-10-16T19:10:00Z"
    assert started["window"] == "sbc-upgrade" and started["maintenance_kind"] == "regular"
    await a.tick(t(75))
    bodies = await published(store)
    assert kinds(bodies)[1] == ("maintenance_ended", t(70))
    assert bodies[1]["cause"] == "elapsed"
    assert [b["seq"] for b in bodies] == [1, 2]


async def test_a_window_announced_late_starts_at_its_announcement(store: SqliteStore) -> None:
    a = Announcer(store, "ams", lambda: config(window(0, 60, announced=20)), ["pbx"])
    await a.tick(t(10))  # running, but not yet announced: suppression has not begun
    assert await published(store) == []
    await a.tick(t(21))
    assert kinds(await published(store)) == [("maintenance_started", t(20))]


async def test_a_withdrawn_window_ends_when_it_disappears(store: SqliteStore) -> None:
    windows = [window(0, 60)]
    a = Announcer(store, "ams", lambda: config(*windows), ["pbx"])
    await a.tick(t(5))
    windows.clear()  # deleted through the API
    await a.tick(t(20))
    bodies = await published(store)
    assert kinds(bodies) == [("maintenance_started", t(0)), ("maintenance_ended", t(20))]
    assert bodies[1]["cause"] == "withdrawn"


async def test_a_short_window_between_two_ticks_is_still_announced(store: SqliteStore) -> None:
    a = Announcer(store, "ams", lambda: config(window(1, 2)), ["pbx"])
    await a.tick(t(0))
    await a.tick(t(3))
    assert kinds(await published(store)) == [("maintenance_started", t(1)), ("maintenance_ended", t(2))]


async def test_a_restart_announces_each_window_change_once(store: SqliteStore) -> None:
    cfg = config(window(0, 60), window(100, 130, name="later"))
    first = Announcer(store, "ams", lambda: cfg, ["pbx"])
    await first.tick(t(5))
    [before] = await published(store)
    again = Announcer(store, "ams", lambda: cfg, ["pbx"])  # the restarted daemon
    again.resume_from(t(5), t(6))
    await again.tick(t(6))
    assert await store.outbox_count() == 1  # the waiting row is not doubled
    await store.outbox_done(before["seq"])  # delivered; then the daemon restarts once more
    third = Announcer(store, "ams", lambda: cfg, ["pbx"])
    third.resume_from(t(6), t(140))  # down from 6 to 140: one window ended, one came and went
    await third.tick(t(140))
    bodies = await published(store)
    # the start at 0 was logged and delivered before: the event log knows it, so it
    # is not queued again; what happened while the daemon was down is, late
    assert kinds(bodies) == [
        ("maintenance_ended", t(60)),
        ("maintenance_started", t(100)),
        ("maintenance_ended", t(130)),
    ]
    logged = await store.events(kind="maintenance_started")
    assert [e.at for e in logged] == [t(0), t(100)]
    assert logged[0].event_id == before["id"]


def _snmp_check(tmp_path: Path) -> Any:
    secret = tmp_path / "community"
    secret.write_text("c")
    secret.chmod(0o600)
    cfg = parse_config(
        "checks:\n"
        f"  - {{name: pbx-up, type: snmp_up, target: {{host: 127.0.0.5, community_file: {secret}}}}}\n",
        env={},
    )
    return effective_checks(cfg)[0]


async def test_a_detected_reboot_is_stored_by_the_announcer(store: SqliteStore, tmp_path: Path) -> None:
    check = _snmp_check(tmp_path)
    a = Announcer(store, "ams", MaintenanceConfig, [], tick=3600)
    woken: list[bool] = []
    a.wake = lambda: woken.append(True)
    sink = SnmpSink(CollectorRegistry(), [check], on_reboot=a.reboot)
    snap = CheckSnapshot.initial("pbx-up")

    def poll(uptime: float, at: datetime) -> None:
        result = ProbeResult.success(0.01, "", {"snmp_uptime_seconds": uptime})
        sink.outcome(ProbeOutcome(check, at, result, 0.01, snap, snap, (), ()))

    poll(500.0, t(0))
    poll(2.5, t(1))  # before start(): no outbox writer, so not queued (logged and counted only)
    await a.start()
    poll(70.0, t(2))
    poll(3.0, t(3))  # the agent restarted
    await a.stop()  # a clean stop writes what is queued
    [body] = await published(store)
    assert body["kind"] == "reboot" and body["check"] == "pbx-up" and body["device"] == "127.0.0.5"
    assert (body["previous_uptime_seconds"], body["uptime_seconds"]) == (70.0, 3.0)
    assert body["booted_at"] == "2026-10-16T18:02:57Z" and body["at"] == "2026-10-16T18:03:00Z"
    assert woken
