"""News that is not a check's state: maintenance windows starting and ending, SNMP reboots.

Both are pipeline steps, committed with the input that revealed them (a probe,
the clock, an API write) into the event log and, with MQTT, the outbox. The
clock is passed in, so window starts and ends are tested to the microsecond;
the store is a real SqliteStore and every payload is checked against the
published schema.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitord.config import effective_checks, parse_config
from monitord.core.events import MaintenanceEnded, MaintenanceStarted, RebootDetected
from monitord.core.pipeline import Pipeline, ResumeState
from monitord.core.stream import Committed
from monitord.sinks.mqtt import message, topic
from monitord.sla.config import MaintenanceConfig
from monitord.storage.interface import MaintenanceAdd, MaintenanceDelete
from monitord.storage.records import StandaloneEvent
from monitord.storage.sqlite import SqliteStore
from probes.base import ProbeResult
from probes.measurements import SnmpUptimeMeasured
from tests.unit.sinks.test_mqtt import VALIDATOR
from tests.writes import record_event

T0 = datetime(2026, 10, 16, 18, 0, tzinfo=UTC)


def t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with SqliteStore(tmp_path / "m.db", outbox=True) as s:
        await s.start_run(t(-60))
        yield s


class Heard:
    def __init__(self) -> None:
        self.commits: list[Committed] = []

    def consume(self, c: Committed) -> None:
        self.commits.append(c)

    def of(self, kind: type) -> list[Any]:
        return [e for c in self.commits for e in c.events if isinstance(e, kind)]


def window(start: float, end: float, announced: float = -1000, name: str = "sbc-upgrade") -> Any:
    return {"name": name, "services": ["pbx"], "start": t(start), "end": t(end),
            "announced_at": t(announced), "kind": "regular"}


def maintenance(*windows: Any) -> MaintenanceConfig:
    return MaintenanceConfig.model_validate({"windows": list(windows)})


def pipeline(store: SqliteStore, cfg: MaintenanceConfig, heard: Heard | None = None,
             tmp_path: Path | None = None) -> Pipeline:
    config = parse_config(
        "checks: [{name: pbx-sip, type: sip_options, target: 'sip:127.0.0.1:5060'}]\n"
        "services: [{name: pbx, checks: [pbx-sip]}, {name: other, checks: [pbx-sip]}]\n",
        env={},
    )
    return Pipeline(effective_checks(config), config.services, store, ResumeState(),
                    [heard] if heard else [], site="ams", maintenance=cfg)


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
    assert await record_event(store, ev) is True
    assert await record_event(store, ev) is False  # same key, still waiting: one row
    assert await store.outbox_count() == 1
    [body] = await published(store)
    assert body["kind"] == "reboot" and body["device"] == "127.0.0.5"
    with pytest.raises(ValueError, match="unknown event kind"):
        await record_event(store, StandaloneEvent("bogus", "check", "x", t(0), {}))
    [logged] = await store.events(kind="reboot")
    assert logged.subject == "pbx-up" and logged.body["device"] == "127.0.0.5"
    async with SqliteStore(tmp_path / "plain.db") as plain:  # no MQTT: kept, not queued
        assert await record_event(plain, ev) is True
        assert await record_event(plain, ev) is False
        assert await plain.outbox_count() == 0
        [kept] = await plain.events()
        assert kept.event_id == logged.event_id, "the log and MQTT share the event's id"
        assert (kept.kind, kept.at) == ("reboot", t(0))


async def test_window_start_and_end_follow_the_clock(store: SqliteStore) -> None:
    heard = Heard()
    p = pipeline(store, maintenance(window(10, 70)), heard)
    await p.resume(t(0))
    for minute in (1, 9.99):
        assert await p.tick(t(minute)) is None
    await p.tick(t(10.5))
    await p.tick(t(30))  # still inside: nothing new
    [started] = await published(store)
    assert (started["kind"], started["at"]) == ("maintenance_started", "2026-10-16T18:10:00Z")
    assert started["service"] == "pbx" and started["end"] == "2026-10-16T19:10:00Z"
    assert started["window"] == "sbc-upgrade" and started["maintenance_kind"] == "regular"
    await p.tick(t(75))
    bodies = await published(store)
    assert kinds(bodies)[1] == ("maintenance_ended", t(70))
    assert bodies[1]["cause"] == "elapsed"
    assert [b["seq"] for b in bodies] == [1, 2]
    [s] = heard.of(MaintenanceStarted)
    [e] = heard.of(MaintenanceEnded)
    assert (s.service, s.effective, e.end, e.key) == ("pbx", t(10), t(70), s.key)


async def test_a_probe_sees_the_window_that_began_since_the_last_tick(store: SqliteStore) -> None:
    """The calendar is asked on every input, so a boundary is never a tick late."""
    heard = Heard()
    p = pipeline(store, maintenance(window(10, 70)), heard)
    await p.resume(t(0))
    c = await p.observe("pbx-sip", t(10.001), ProbeResult.success(0.001), 0.001)
    assert [type(e) for e in c.events] == [MaintenanceStarted]


async def test_a_window_announced_late_starts_at_its_announcement(store: SqliteStore) -> None:
    p = pipeline(store, maintenance(window(0, 60, announced=20)))
    await p.resume(t(10))  # running, but not yet announced: suppression has not begun
    assert await published(store) == []
    await p.tick(t(21))
    assert kinds(await published(store)) == [("maintenance_started", t(20))]


async def test_an_api_window_starts_at_once_and_a_withdrawn_one_ends_when_deleted(
    store: SqliteStore,
) -> None:
    heard = Heard()
    p = pipeline(store, MaintenanceConfig(), heard)
    await p.resume(t(0))
    rec = await p.add_maintenance(MaintenanceAdd("pbx", t(0), t(60), "urgent", t(5), "fix", t(5)))
    assert [w.id for w in await store.maintenance_windows()] == [rec.id]
    await p.tick(t(6))
    assert await p.delete_maintenance(MaintenanceDelete(rec.id, t(20))) is not None
    bodies = await published(store)
    assert kinds(bodies) == [("maintenance_started", t(5)), ("maintenance_ended", t(20))]
    assert bodies[1]["cause"] == "withdrawn" and bodies[0]["window"] == f"api-{rec.id}"
    assert await p.delete_maintenance(MaintenanceDelete(rec.id, t(21))) is None


async def test_a_short_window_between_two_ticks_is_still_announced(store: SqliteStore) -> None:
    p = pipeline(store, maintenance(window(1, 2)))
    await p.resume(t(0))
    await p.tick(t(3))
    assert kinds(await published(store)) == [("maintenance_started", t(1)),
                                             ("maintenance_ended", t(2))]


async def test_a_restart_announces_each_window_change_once(store: SqliteStore) -> None:
    cfg = maintenance(window(0, 60), window(100, 130, name="later"))
    first = pipeline(store, cfg)
    await first.resume(t(5))
    [before] = await published(store)
    again = pipeline(store, cfg)  # the restarted daemon
    await again.resume(t(6), last_alive=t(5))
    assert await store.outbox_count() == 1  # the waiting row is not doubled
    await store.outbox_done(before["seq"])  # delivered; then the daemon restarts once more
    third = pipeline(store, cfg)
    await third.resume(t(140), last_alive=t(6))  # down 6..140: one window ended, one came and went
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


async def test_a_reboot_is_recorded_with_the_poll_that_saw_it(
    store: SqliteStore, tmp_path: Path
) -> None:
    secret = tmp_path / "community"
    secret.write_text("c")
    secret.chmod(0o600)
    config = parse_config(
        "checks:\n"
        f"  - {{name: pbx-up, type: snmp_up, target: {{host: 127.0.0.5, community_file: {secret}}}}}\n",
        env={},
    )
    heard = Heard()
    p = Pipeline(effective_checks(config), [], store, ResumeState(), [heard], site="ams")
    await p.resume(t(0))

    async def poll(uptime: float, at: datetime) -> None:
        await p.observe("pbx-up", at, ProbeResult.success(0.01, "", SnmpUptimeMeasured(uptime_seconds=uptime)),
                        0.01)

    await poll(500.0, t(0))
    await poll(70.0, t(2))  # the agent restarted: 500 -> 70
    await poll(80.0, t(2.2))
    await poll(3.0, t(3))  # and again
    assert [(r.previous_uptime, r.uptime) for r in heard.of(RebootDetected)] == [
        (500.0, 70.0), (80.0, 3.0)]
    bodies = await published(store)
    assert [b["kind"] for b in bodies] == ["reboot", "reboot"]
    body = bodies[1]
    assert body["check"] == "pbx-up" and body["device"] == "127.0.0.5"
    assert (body["previous_uptime_seconds"], body["uptime_seconds"]) == (80.0, 3.0)
    assert body["booted_at"] == "2026-10-16T18:02:57Z" and body["at"] == "2026-10-16T18:03:00Z"
    assert [e.kind for e in await store.events()] == ["reboot", "reboot"]
