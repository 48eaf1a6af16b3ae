"""MQTT: topics, the versioned payloads (checked against the published JSON Schema),
and draining the outbox in order through a client that breaks halfway."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from monitord.config.alerting import MqttConfig
from monitord.sinks.mqtt import drain, message, topic
from monitord.storage.sqlite import SqliteStore
from tests.unit.storage.test_outbox import outage, t

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
    s = SqliteStore(tmp_path / "m.db", outbox=True)
    await s.open()
    await s.start_run(t(-10))
    try:
        yield s
    finally:
        await s.close()


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
