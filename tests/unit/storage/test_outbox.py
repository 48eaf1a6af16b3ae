"""The durable outbox: rows written with the state change, in order, gone only when done.

Every backend (conftest.py); the events are those a check produces on its way
UP -> FAILING -> ALERTING -> DOWN -> UP.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from monitord.core.events import (
    AlertRaised,
    AlertResolved,
    CheckSnapshot,
    CheckState,
    DowntimeClosed,
    DowntimeOpened,
    ServiceDowntimeClosed,
    ServiceDowntimeOpened,
)
from monitord.errors import StorageError
from monitord.storage.interface import Store
from monitord.storage.records import StandaloneEvent
from tests.unit.storage.conftest import OpenStore
from tests.writes import commit_check, commit_service, record_event

T0 = datetime(2024, 10, 27, 0, 30, tzinfo=UTC)


def t(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def snap(state: CheckState, failures: int, last: float, down: float | None = None) -> CheckSnapshot:
    streak = t(0) if state is not CheckState.UP else None
    return CheckSnapshot("sbc-a", state, failures, 0 if failures else 1, streak,
                         "timeout" if streak else None, "no answer" if streak else "",
                         t(down) if down is not None else None, t(last))


@pytest.fixture
async def store(open_store: OpenStore) -> Store:
    s = await open_store(outbox=True)
    await s.start_run(t(-10))
    return s


async def outage(store: Store) -> None:
    F, A, D, U = CheckState.FAILING, CheckState.ALERTING, CheckState.DOWN, CheckState.UP
    await commit_check(store, snap(F, 1, 0), [])
    await commit_check(store, snap(F, 2, 10), [])  # no state change: no row
    await commit_check(store, snap(A, 3, 20), [AlertRaised("sbc-a", t(20), t(0), 3, "timeout", "no answer")])
    await commit_check(store, snap(A, 4, 30), [])
    await commit_check(store, snap(D, 5, 40, down=0),
                             [DowntimeOpened("sbc-a", t(0), t(40), "timeout", "no answer")])
    await commit_service(store, [ServiceDowntimeOpened("pbx", t(0), "timeout", "no answer")])
    await commit_check(store, snap(U, 0, 50), [AlertResolved("sbc-a", t(50), t(0)),
                                              DowntimeClosed("sbc-a", t(0), t(50), "timeout")])
    await commit_service(store, [ServiceDowntimeClosed("pbx", t(0), t(50))])


async def test_rows_follow_the_state_changes_in_order(store: Store) -> None:
    await outage(store)
    rows = await store.outbox_pending(100)
    assert [(r.channel, r.kind) for r in rows] == [
        ("state", "check_state"),  # failing
        ("event", "alert_raised"), ("state", "check_state"),
        ("event", "downtime_opened"), ("state", "check_state"),
        ("event", "service_downtime_opened"), ("state", "service_state"),
        ("event", "alert_resolved"), ("event", "downtime_closed"), ("state", "check_state"),
        ("event", "service_downtime_closed"), ("state", "service_state"),
    ]
    assert [r.seq for r in rows] == list(range(1, 13))
    assert len({r.event_id for r in rows}) == 12
    states = [json.loads(r.payload)["state"] for r in rows if r.channel == "state"]
    assert states == ["failing", "alerting", "down", "down", "up", "up"]
    raised = json.loads(rows[1].payload)
    assert raised == {"check": "sbc-a", "since": "2024-10-27T00:30:00Z", "failures": 3,
                      "reason": "timeout", "detail": "no answer"}
    assert rows[1].at == t(20)


async def test_done_drops_up_to_a_seq_and_numbers_are_never_reused(store: Store) -> None:
    await outage(store)
    assert await store.outbox_done(5) == 5
    assert [r.seq for r in await store.outbox_pending(3)] == [6, 7, 8]
    await store.outbox_done(12)
    assert await store.outbox_pending(10) == []
    await commit_check(store, snap(CheckState.FAILING, 1, 60), [])
    assert [r.seq for r in await store.outbox_pending(10)] == [13]


async def test_a_refused_commit_leaves_no_row(store: Store) -> None:
    with pytest.raises(StorageError):  # closing what was never opened
        await commit_check(store, snap(CheckState.UP, 0, 50),
                                 [DowntimeClosed("sbc-a", t(0), t(50), "timeout")])
    assert await store.outbox_pending(10) == []


async def test_rows_survive_a_restart(open_store: OpenStore, store: Store) -> None:
    await outage(store)
    await store.close()
    again = await open_store(outbox=True)
    assert len(await again.outbox_pending(100)) == 12
    assert await again.outbox_count() == 12


async def test_a_keyed_event_waits_once_and_its_refusal_spends_no_number(store: Store) -> None:
    reboot = StandaloneEvent("reboot", "check", "sbc-a", t(5), {"check": "sbc-a"}, key="boot-1")
    assert await record_event(store, reboot)
    assert not await record_event(store, reboot)  # the same event again: one row
    with pytest.raises(StorageError):  # refused: rolled back whole
        await commit_check(store, snap(CheckState.UP, 0, 50),
                           [DowntimeClosed("sbc-a", t(0), t(50), "timeout")])
    await commit_check(store, snap(CheckState.FAILING, 1, 60), [])
    assert [(r.seq, r.kind) for r in await store.outbox_pending(10)] == [
        (1, "reboot"), (2, "check_state")]


async def test_without_the_outbox_nothing_is_written(open_store: OpenStore) -> None:
    s = await open_store()
    await s.start_run(t(-10))
    await commit_check(s, snap(CheckState.FAILING, 1, 0), [])
    assert await s.outbox_pending(10) == []
