"""MQTT: topics, the versioned payloads (checked against the published JSON Schema),
and draining the outbox in order through a client that breaks halfway."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from monitord.config import effective_checks, parse_config
from monitord.config.alerting import MqttConfig
from monitord.core.events import CheckSnapshot, CheckState, ServiceDowntimeClosed
from monitord.core.stream import Reconfigured, Resumed
from monitord.sinks.mqtt import MqttSink, drain, message, topic
from monitord.sinks.retained import StateBook
from monitord.storage.sqlite import SqliteStore
from tests.unit.storage.test_outbox import outage, t
from tests.unit.stream import news

SCHEMA = json.loads(
    resources.files("monitord.sinks").joinpath("schema/event-v1.json").read_text()
)
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())


class BrokenAfter:
    """Test double for a connected aiomqtt client: acknowledges `ok` publishes, then fails."""

    def __init__(self, ok: int) -> None:
        self.ok = ok
        self.sent: list[tuple[str, dict[str, Any], bool]] = []

    async def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False,
                      *, timeout: float | None = None) -> None:
        assert qos == 1
        if self.ok <= 0:
            raise ConnectionError("broker went away")
        self.ok -= 1
        self.sent.append((topic, json.loads(payload), retain))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with SqliteStore(tmp_path / "m.db", outbox=True) as s:
        await s.start_run(t(-10))
        yield s


CFG = MqttConfig(batch=4)


async def test_every_payload_validates_against_the_schema(store: SqliteStore) -> None:
    await outage(store)
    client = BrokenAfter(100)
    assert await drain(store, client, CFG, "ams") == 12
    kinds = set()
    for _, body, _ in client.sent:
        VALIDATOR.validate(body)
        kinds.add(body["kind"])
    assert kinds == {"alert_raised", "alert_resolved", "downtime_opened", "downtime_closed",
                     "service_downtime_opened", "service_downtime_closed", "check_state",
                     "service_state"}


def test_the_schema_refuses_unknown_fields_and_missing_ones() -> None:
    good = {"version": 1, "id": "0b7c5c1e-8a43-4a39-9c51-6f1e6b0c2d11", "seq": 3, "site": "ams",
            "kind": "alert_resolved", "at": "2024-10-27T00:30:50Z", "check": "sbc-a",
            "since": "2024-10-27T00:30:00Z"}
    VALIDATOR.validate(good)
    for bad in ({**good, "extra": 1}, {k: v for k, v in good.items() if k != "since"},
                {**good, "version": 2}):
        with pytest.raises(jsonschema.ValidationError):
            VALIDATOR.validate(bad)


async def test_topics_and_retain(store: SqliteStore) -> None:
    await outage(store)
    client = BrokenAfter(100)
    await drain(store, client, CFG, "ams")
    assert client.sent[0][0] == "monitord/ams/state/check/sbc-a" and client.sent[0][2]
    assert client.sent[1][0] == "monitord/ams/events/alert_raised" and not client.sent[1][2]
    assert client.sent[6][0] == "monitord/ams/state/service/pbx"
    first = client.sent[1][1]
    assert first["seq"] == 2 and first["site"] == "ams" and first["at"] == "2024-10-27T00:30:20Z"


async def test_a_broken_connection_deletes_only_what_was_acknowledged(store: SqliteStore) -> None:
    await outage(store)
    first = BrokenAfter(6)  # breaks in the middle of the second batch of 4
    with pytest.raises(ConnectionError):
        await drain(store, first, CFG, "ams")
    assert [r.seq for r in await store.outbox_pending(100)] == list(range(7, 13))
    second = BrokenAfter(100)
    await drain(store, second, CFG, "ams")
    seqs = [b["seq"] for _, b in [(x[0], x[1]) for x in first.sent + second.sent]]
    assert seqs == list(range(1, 13)), "in order, nothing lost, nothing repeated here"
    assert await store.outbox_pending(100) == []


async def test_message_wraps_the_row_fields(store: SqliteStore) -> None:
    await outage(store)
    row = (await store.outbox_pending(2))[1]
    body = json.loads(message("ams", row))
    assert body["version"] == 1 and body["id"] == row.event_id and body["kind"] == "alert_raised"
    assert topic("noc", "ams", row) == "noc/ams/events/alert_raised"


# --- retained state of every check and service, restated on each connect ---------------


def resumed_book() -> StateBook:
    book = StateBook("ams", ["sbc-a", "sbc-b", "never"], ["pbx", "quiet"])
    down = CheckSnapshot("sbc-a", CheckState.DOWN, 6, 0, t(0), "timeout", "no answer", t(10), t(50))
    up = CheckSnapshot("sbc-b", CheckState.UP, 0, 40, None, None, "", None, t(55))
    book.consume(news(t(60), Resumed(t(60), {"sbc-a": down, "sbc-b": up}, {"pbx": t(10)}, ())))
    return book


def test_every_check_and_service_is_restated_with_a_valid_stable_message() -> None:
    book = resumed_book()
    first = list(book.restatements("monitord", 12))
    bodies = {r.topic: json.loads(r.payload) for r in first}
    assert set(bodies) == {"monitord/ams/state/check/sbc-a", "monitord/ams/state/check/sbc-b",
                           "monitord/ams/state/check/never", "monitord/ams/state/service/pbx",
                           "monitord/ams/state/service/quiet"}
    for body in bodies.values():
        VALIDATOR.validate(body)
        assert body["restated"] is True and body["seq"] == 12
    a = bodies["monitord/ams/state/check/sbc-a"]
    assert (a["state"], a["since"], a["reason"]) == ("down", "2024-10-27T00:30:10Z", "timeout")
    assert bodies["monitord/ams/state/service/pbx"]["state"] == "down"
    # a check never probed and a service never down: as of when this run began watching
    assert bodies["monitord/ams/state/check/never"]["since"] == "2024-10-27T00:31:00Z"
    assert bodies["monitord/ams/state/service/quiet"]["since"] == "2024-10-27T00:31:00Z"
    again = {r.topic: json.loads(r.payload)["id"] for r in book.restatements("monitord", 20)}
    assert again == {topic: b["id"] for topic, b in bodies.items()}, "same state, same id"
    book.consume(news(t(70), ServiceDowntimeClosed("pbx", t(10), t(70))))
    changed = {r.topic: json.loads(r.payload) for r in book.restatements("monitord", 20)}
    assert changed["monitord/ams/state/service/pbx"]["state"] == "up"
    assert changed["monitord/ams/state/service/pbx"]["id"] != bodies["monitord/ams/state/service/pbx"]["id"]


def test_seq_zero_is_only_for_restatements() -> None:
    body = json.loads(next(iter(resumed_book().restatements("monitord", 0))).payload)
    VALIDATOR.validate(body)
    with pytest.raises(jsonschema.ValidationError):
        VALIDATOR.validate({k: v for k, v in body.items() if k != "restated"})


class Recorder:
    """Test double for a connected client: records every publish."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any], bool]] = []

    async def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False,
                      *, timeout: float | None = None) -> None:
        self.sent.append((topic, json.loads(payload), retain))


async def test_each_connection_drains_the_outbox_then_restates_everything(store: SqliteStore) -> None:
    await outage(store)  # 12 rows wait, about sbc-a and pbx
    sink = MqttSink(MqttConfig(batch=4, poll_interval=0.05), "ams", store,
                    checks=["sbc-a", "sbc-b"], services=["pbx"])
    sink.consume(news(t(60), Resumed(t(60), {}, {}, ())))
    for connection in (1, 2):  # a reconnect restates again
        client = Recorder()
        task = asyncio.create_task(sink._serve(client))
        while sink.restated < connection:
            await asyncio.sleep(0.01)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        retained = [(topic, b) for topic, b, r in client.sent if r]
        restated = [(topic, b) for topic, b in retained if b.get("restated")]
        assert [topic for topic, _ in restated] == [
            "monitord/ams/state/check/sbc-a", "monitord/ams/state/check/sbc-b",
            "monitord/ams/state/service/pbx"]
        if connection == 1:  # the outbox first, in order; the restatement is the last word
            assert [b["seq"] for _, b, _ in client.sent[:12]] == list(range(1, 13))
            assert client.sent[12:] == [(topic, b, True) for topic, b in restated]
        assert all(b["seq"] == 12 for _, b in restated)


def test_a_reload_clears_removed_states_and_restates_added_ones() -> None:
    book = resumed_book()
    cfg = parse_config("checks: [{name: sbc-a, type: sip_options, target: 'sip:h'},"
                       " {name: new, type: sip_options, target: 'sip:h2'}]\n"
                       "services: [{name: pbx, checks: [sbc-a]}]", env={})
    book.consume(news(t(80), Reconfigured(t(80), tuple(effective_checks(cfg)), tuple(cfg.services),
                                          ("new",), ("sbc-b", "never", "quiet"), ())))
    assert book.clearing("monitord") == [
        "monitord/ams/state/check/sbc-b", "monitord/ams/state/check/never",
        "monitord/ams/state/service/quiet"]
    assert book.clearing("monitord") == []  # taken once
    topics = {r.topic: json.loads(r.payload) for r in book.restatements("monitord", 30)}
    assert set(topics) == {"monitord/ams/state/check/sbc-a", "monitord/ams/state/check/new",
                           "monitord/ams/state/service/pbx"}
    assert topics["monitord/ams/state/check/sbc-a"]["state"] == "down"  # kept across the reload
    assert topics["monitord/ams/state/service/pbx"]["state"] == "down"
