"""Alertmanager: which alerts, with which labels and times, reach which URL when.

The book is fed the events a check produces, the gatus way, and checked after
each step; the sink is run against a small aiohttp server on 127.0.0.1 that
refuses first and accepts later, as an Alertmanager that was down would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from monitord.config.alerting import AlertmanagerConfig
from monitord.core.events import (
    AlertRaised,
    AlertResolved,
    CheckSnapshot,
    CheckState,
    ServiceDowntimeClosed,
    ServiceDowntimeOpened,
)
from monitord.sinks.alertmanager import (
    CHECK_ALERT,
    SERVICE_ALERT,
    AlertBook,
    AlertmanagerSink,
)
from tests.unit.stream import maintenance_ended, maintenance_started, running

T0 = datetime(2024, 10, 27, 0, 30, tzinfo=UTC)


def t(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def cfg(**kw: Any) -> AlertmanagerConfig:
    return AlertmanagerConfig(urls=kw.pop("urls", ["http://127.0.0.1:1"]), **kw)


RAISED = AlertRaised("sbc-a", at=t(20), since=t(0), failures=3, reason="timeout", detail="no answer")


def book(**kw: Any) -> AlertBook:
    return AlertBook(cfg(resend_interval=30.0), "ams", {"sbc-a": ["pbx", "trunks"]},
                     {"sbc-a": {"team": "voice", "site": "ignored"}}, **kw)


def test_raised_gives_one_alert_per_service_starting_at_the_first_failure() -> None:
    b = book()
    assert b.apply([RAISED], [])
    alerts = b.batch(0, t(21))
    assert sorted(a.labels["service"] for a in alerts) == ["pbx", "trunks"]
    body = b.payloads(alerts, t(21))[0]
    assert body["labels"] == {"alertname": CHECK_ALERT, "site": "ams", "check": "sbc-a",
                              "service": "pbx", "severity": "warning", "priority": "P2",
                              "team": "voice"}
    assert body["startsAt"] == "2024-10-27T00:30:00Z"
    assert body["endsAt"] == "2024-10-27T00:32:21Z"  # now + 4 x resend_interval
    assert body["annotations"]["reason"] == "timeout"
    assert body["annotations"]["detail"] == "no answer"
    assert body["annotations"]["since"] == "2024-10-27T00:30:00Z"


def test_resolved_replaces_the_pending_firing_version_and_ends_at_the_first_success() -> None:
    b = book()
    b.apply([RAISED], [])
    b.apply([AlertResolved("sbc-a", at=t(50), since=t(0))], [])
    assert b.active == {}
    bodies = b.payloads(b.batch(0, t(51)), t(51))
    assert [x["endsAt"] for x in bodies] == ["2024-10-27T00:30:50Z"] * 2


def test_delivery_clears_only_what_it_carried() -> None:
    b = book()
    b.apply([RAISED], [])
    in_flight = b.batch(0, t(21))
    b.apply([AlertResolved("sbc-a", at=t(50), since=t(0))], [])  # arrives during the POST
    b.delivered(0, in_flight)
    left = b.batch(0, t(51))
    assert len(left) == 2 and all(a.ends_at == t(50) for a in left)
    b.delivered(0, left)
    assert b.batch(0, t(52)) == []


def test_every_destination_gets_every_alert_and_resend_requeues_the_active_ones() -> None:
    b = book(destinations=2)
    b.apply([RAISED], [ServiceDowntimeOpened("pbx", t(0), "timeout", "no answer")])
    b.delivered(0, b.batch(0, t(21)))
    assert len(b.batch(1, t(21))) == 3 and b.batch(0, t(21)) == []
    b.resend_all(0)
    assert {a.key[0] for a in b.batch(0, t(51))} == {CHECK_ALERT, SERVICE_ALERT}


def test_service_down_is_critical_p1_and_resolves_at_the_interval_end() -> None:
    b = book()
    b.apply([], [ServiceDowntimeOpened("pbx", t(0), "timeout", "no answer")])
    (alert,) = b.batch(0, t(40))
    assert alert.labels == {"alertname": SERVICE_ALERT, "site": "ams", "service": "pbx",
                            "severity": "critical", "priority": "P1"}
    b.apply([], [ServiceDowntimeClosed("pbx", t(0), t(60))])
    (resolved,) = b.batch(0, t(61))
    assert resolved.starts_at == t(0) and resolved.ends_at == t(60)


def test_maintenance_holds_back_firing_alerts_but_never_resolutions() -> None:
    b = book()
    b.maintenance_changed(maintenance_started("pbx", t(10)))
    b.apply([RAISED], [])
    assert [a.labels["service"] for a in b.batch(0, t(21))] == ["trunks"]
    b.apply([AlertResolved("sbc-a", at=t(50), since=t(0))], [])
    assert len(b.batch(0, t(51))) == 2


def test_an_alert_held_back_in_maintenance_goes_out_when_the_window_ends() -> None:
    b = book()
    b.maintenance_changed(maintenance_started("pbx", t(10)))
    b.apply([RAISED], [])
    assert [a.labels["service"] for a in b.batch(0, t(21))] == ["trunks"]
    assert b.maintenance_changed(maintenance_ended("pbx", t(30)))
    assert sorted(a.labels["service"] for a in b.batch(0, t(31))) == ["pbx", "trunks"]


def test_a_restart_reseeds_what_is_still_alerting() -> None:
    b = book()
    snap = CheckSnapshot("sbc-a", CheckState.DOWN, 7, 0, t(0), "refused", "ICMP", t(40), t(60))
    b.seed({"sbc-a": snap, "ok": CheckSnapshot.initial("ok")}, {"pbx": t(0)})
    keys = sorted(a.key for a in b.batch(0, t(61)))
    assert keys == [(CHECK_ALERT, "sbc-a", "pbx"), (CHECK_ALERT, "sbc-a", "trunks"),
                    (SERVICE_ALERT, "", "pbx")]
    assert all(a.starts_at == t(0) for a in b.batch(0, t(61)))


def test_a_check_without_service_has_no_service_label() -> None:
    b = AlertBook(cfg(), "ams", {})
    b.apply([RAISED], [])
    (alert,) = b.batch(0, t(21))
    assert "service" not in alert.labels and alert.key == (CHECK_ALERT, "sbc-a", "")


# --- the sink against a loopback HTTP server -----------------------------------------


class FakeAlertmanager:
    """Test double for Alertmanager's POST /api/v2/alerts: fails `refuse` times, then records."""

    def __init__(self, refuse: int) -> None:
        self.refuse = refuse
        self.posts: list[list[dict[str, Any]]] = []
        self.got = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        if self.refuse > 0:
            self.refuse -= 1
            return web.Response(status=503, text="not ready")
        self.posts.append(await request.json())
        self.got.set()
        return web.json_response({})


@pytest.fixture
async def fake_am() -> AsyncIterator[tuple[FakeAlertmanager, str]]:
    fake = FakeAlertmanager(refuse=2)
    app = web.Application()
    app.router.add_post("/api/v2/alerts", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield fake, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_the_sink_retries_with_backoff_until_alertmanager_takes_the_alert(
    fake_am: tuple[FakeAlertmanager, str],
) -> None:
    fake, url = fake_am
    sink = AlertmanagerSink(cfg(urls=[url], retry_initial=0.05, retry_max=0.2), "ams",
                            {"sbc-a": ["pbx"]})
    async with running(sink):
        sink.book.apply([RAISED], [])
        for wake in sink._wake:
            wake.set()
        await asyncio.wait_for(fake.got.wait(), 5)
        assert fake.refuse == 0 and len(fake.posts) == 1
        assert fake.posts[0][0]["labels"]["check"] == "sbc-a"
        assert sink.book.pending[0] == {}  # marked sent only now


async def test_stop_flushes_pending_resolutions(fake_am: tuple[FakeAlertmanager, str]) -> None:
    fake, url = fake_am
    fake.refuse = 0
    sink = AlertmanagerSink(cfg(urls=[url], resend_interval=60.0), "ams", {})
    sink.book.apply([], [ServiceDowntimeClosed("pbx", t(0), t(5))])
    await sink.close()  # never started: the bounded final flush still delivers it
    async with running(sink):
        pass
    assert [p[0]["endsAt"] for p in fake.posts] == ["2024-10-27T00:30:05Z"]
