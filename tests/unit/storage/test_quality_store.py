"""Call-quality intervals in every store backend: kept apart from downtime, one open
row per service, a change closes and opens at the same instant, announced via the outbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest

from monitord.core.callquality import Priority, QualityChange, WindowFigures
from monitord.storage.interface import Store
from tests.unit.sinks.test_mqtt import VALIDATOR
from tests.unit.storage.conftest import OpenStore
from tests.writes import commit_quality

T0 = datetime(2024, 3, 31, 0, 0, tzinfo=UTC)


def t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def change(service: str, minutes: float, before: Priority, after: Priority,
           poor: int = 3) -> QualityChange:
    return QualityChange(service, t(minutes), before, after, WindowFigures(20, poor, 0))


async def test_changes_become_intervals_apart_from_downtime(open_store: OpenStore) -> None:
    store: Store = await open_store()
    await commit_quality(store, [change("pbx", 0, Priority.NONE, Priority.P2)])
    await commit_quality(store, [change("pbx", 5, Priority.P2, Priority.P1, poor=5),
                                change("pbx", 9, Priority.P1, Priority.NONE, poor=0)])
    rows = await store.quality_intervals(service="pbx")
    assert [(r.priority, r.start, r.end) for r in rows] == [
        (Priority.P2, t(0), t(5)), (Priority.P1, t(5), t(9))]
    assert rows[1].poor_audio == 5 and "5/20 calls" in rows[1].detail
    assert await store.downtimes() == []  # degraded is not down
    assert await store.quality_intervals(open_only=True) == []
    assert [r.priority for r in await store.quality_intervals(since=t(6), until=t(7))] == [
        Priority.P1]


async def test_the_open_interval_survives_a_restart(open_store: OpenStore) -> None:
    first: Store = await open_store()
    await commit_quality(first, [change("pbx", 0, Priority.NONE, Priority.P1),
                                change("sbc", 1, Priority.NONE, Priority.P3)])
    await first.close()
    second: Store = await open_store()
    open_rows = await second.quality_intervals(open_only=True)
    assert [(r.service, r.priority, r.end) for r in open_rows] == [
        ("pbx", Priority.P1, None), ("sbc", Priority.P3, None)]
    await commit_quality(second, [change("pbx", 2, Priority.P1, Priority.P2)])
    assert [(r.priority, r.end) for r in await second.quality_intervals(service="pbx")] == [
        (Priority.P1, t(2)), (Priority.P2, None)]


async def test_changes_are_announced_through_the_outbox(open_store: OpenStore) -> None:
    from monitord.sinks.mqtt import message

    store: Store = await open_store(outbox=True)
    await commit_quality(store, [change("pbx", 0, Priority.NONE, Priority.P1)])
    rows = await store.outbox_pending(10)
    assert [(r.kind, r.level, r.subject, r.at) for r in rows] == [
        ("quality_changed", "service", "pbx", t(0))]
    body = json.loads(message("ams", rows[0]))
    VALIDATOR.validate(body)
    assert (body["from_priority"], body["to_priority"], body["poor_audio_share"]) == (
        "none", "P1", 0.15)
    with pytest.raises(jsonschema.ValidationError):
        VALIDATOR.validate({**body, "to_priority": "P4"})
    await store.close()
    quiet: Store = await open_store()  # the same file, outbox off: no rows written
    await commit_quality(quiet, [change("pbx", 1, Priority.P1, Priority.NONE)])
    assert len(await quiet.outbox_pending(10)) == 1
