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
    DowntimeOpened,
    ServiceDowntimeClosed,
    ServiceDowntimeOpened,
    ServiceDowntimeRecorded,
)
from monitord.sinks.alertmanager import AlertmanagerSink
from monitord.sinks.alerts import CHECK_ALERT, SERVICE_ALERT, AlertBook
from tests.unit.sinks.subjects import subjects
from tests.unit.stream import maintenance_ended, maintenance_started, running

T0 = datetime(2024, 10, 27, 0, 30, tzinfo=UTC)


def t(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def cfg(**kw: Any) -> AlertmanagerConfig:
    return AlertmanagerConfig(urls=kw.pop("urls", ["http://127.0.0.1:1"]), **kw)


RAISED = AlertRaised("sbc-a", at=t(20), since=t(0), failures=3, reason="timeout", detail="no answer")


SUBJECTS = """
checks:
  - {name: sbc-a, type: sip_options, target: "sip:127.0.0.1:5060",
     labels: {team: voice, site: ignored}}
services:
  - {name: pbx, checks: [sbc-a]}
  - {name: trunks, checks: [sbc-a]}
"""


def book(**kw: Any) -> AlertBook:
    return AlertBook(cfg(resend_interval=30.0), subjects(SUBJECTS), **kw)


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
                            "severity": "critical", "priority": "P1",
                            "team": "voice"}  # the label all its checks share
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
    b = AlertBook(cfg(), subjects("checks: [{name: sbc-a, type: sip_options, target: 'sip:h'}]"))
    b.apply([RAISED], [])
    (alert,) = b.batch(0, t(21))
    assert "service" not in alert.labels and alert.key == (CHECK_ALERT, "sbc-a", "")


KOFN = """
checks:
  - {name: sbc-a, type: sip_options, target: "sip:10.0.0.1", labels: {platform: voipnow, role: a},
     description: "Primary SBC, Amsterdam", runbook_url: "https://wiki.example/sbc"}
  - {name: sbc-b, type: sip_options, target: "sip:10.0.0.2", labels: {platform: voipnow, role: b}}
  - {name: sbc-c, type: sip_options, target: "sip:10.0.0.3", labels: {platform: voipnow, role: c}}
services:
  - {name: voice, checks: [sbc-a, sbc-b, sbc-c], down_when: {at_least: 2},
     description: "Hosted telephony for all tenants"}
"""


def opened(check: str, s: float, reason: str, detail: str) -> DowntimeOpened:
    return DowntimeOpened(check, t(s), t(s + 20), reason, detail)


def test_a_k_of_n_service_alert_names_every_down_check_and_follows_them() -> None:
    b = AlertBook(cfg(), subjects(KOFN))
    b.apply([opened("sbc-a", 0, "timeout", "no answer in 2s")], [])
    b.apply([opened("sbc-b", 5, "refused", "ICMP port unreachable")],
            [ServiceDowntimeOpened("voice", t(5), "timeout", "check sbc-a: no answer in 2s")])
    (alert,) = [a for a in b.batch(0, t(30)) if a.key[0] == SERVICE_ALERT]
    assert alert.labels == {"alertname": SERVICE_ALERT, "site": "ams", "service": "voice",
                            "severity": "critical", "priority": "P1", "platform": "voipnow"}
    assert alert.annotations["summary"] == "service voice is down: 2 of 3 checks down (sbc-a, sbc-b)"
    assert alert.annotations["down_checks"] == "sbc-a, sbc-b"
    assert alert.annotations["detail"] == ("sbc-a: timeout (no answer in 2s); "
                                           "sbc-b: refused (ICMP port unreachable)")
    assert alert.annotations["description"] == "Hosted telephony for all tenants"
    assert alert.annotations["runbook_url"] == (
        "http://monitord.test:9465/runbook#monitordservicedown")
    assert alert.generator_url == "http://monitord.test:9465/#service-voice"
    b.delivered(0, [alert])
    # a third check goes down while the service stays down: the alert is re-worded
    assert b.apply([opened("sbc-c", 40, "timeout", "")], [])
    (again,) = b.batch(0, t(61))
    assert again.key == alert.key and again.starts_at == t(5)
    assert again.annotations["summary"].endswith("3 of 3 checks down (sbc-a, sbc-b, sbc-c)")
    assert again.annotations["detail"].endswith("sbc-c: timeout")


def test_check_alert_annotations_link_back_to_the_daemon_and_the_runbook() -> None:
    b = AlertBook(cfg(), subjects(KOFN))
    b.succeeded("sbc-a", t(-10))
    b.succeeded("sbc-b", t(-10))
    b.apply([RAISED, AlertRaised("sbc-b", t(20), t(0), 3, "timeout", "")], [])
    by_check = {a.key[1]: a for a in b.batch(0, t(21))}
    a, other = by_check["sbc-a"], by_check["sbc-b"]
    body = b.payloads([a], t(21))[0]
    assert body["generatorURL"] == "http://monitord.test:9465/api/v1/checks/sbc-a"
    assert body["annotations"]["description"] == "Primary SBC, Amsterdam"
    assert body["annotations"]["runbook_url"] == "https://wiki.example/sbc"  # its own
    assert body["annotations"]["last_success"] == "2024-10-27T00:29:50Z"
    assert body["labels"]["platform"] == "voipnow" and body["labels"]["role"] == "a"
    assert other.annotations["description"] == "monitord's sip_options check of sip:10.0.0.2"
    assert other.annotations["runbook_url"] == (
        "http://monitord.test:9465/runbook#monitordcheckalerting")


def test_a_configured_default_runbook_replaces_the_daemons() -> None:
    b = AlertBook(cfg(), subjects(KOFN, runbook_url="https://docs.example/noc"))
    b.apply([AlertRaised("sbc-b", t(20), t(0), 3, "timeout", "")], [])
    (alert,) = b.batch(0, t(21))
    assert alert.annotations["runbook_url"] == "https://docs.example/noc#monitordcheckalerting"


def test_a_restart_names_the_down_checks_of_an_open_service() -> None:
    b = AlertBook(cfg(), subjects(KOFN))
    down = CheckSnapshot("sbc-b", CheckState.DOWN, 7, 0, t(0), "refused", "ICMP", t(0), t(60))
    down_c = CheckSnapshot("sbc-c", CheckState.DOWN, 7, 0, t(0), "timeout", "", t(2), t(60))
    b.seed({"sbc-b": down, "sbc-c": down_c}, {"voice": t(2)})
    (svc,) = [a for a in b.batch(0, t(61)) if a.key[0] == SERVICE_ALERT]
    assert svc.annotations["down_checks"] == "sbc-b, sbc-c"


def test_a_past_service_interval_does_not_name_the_checks_down_now() -> None:
    b = AlertBook(cfg(), subjects(KOFN))
    b.apply([opened("sbc-a", 100, "timeout", "")],
            [ServiceDowntimeRecorded("voice", t(0), t(30), "timeout", "check sbc-b: gone")])
    (past,) = b.batch(0, t(130))
    assert past.ends_at == t(30)
    assert past.annotations["summary"] == "service voice was down (timeout)"
    assert past.annotations["detail"] == "check sbc-b: gone"
    assert "down_checks" not in past.annotations


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
    sink = AlertmanagerSink(cfg(urls=[url], retry_initial=0.05, retry_max=0.2),
                            subjects(SUBJECTS))
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
    sink = AlertmanagerSink(cfg(urls=[url], resend_interval=60.0), subjects(SUBJECTS))
    sink.book.apply([], [ServiceDowntimeClosed("pbx", t(0), t(5))])
    await sink.close()  # never started: the bounded final flush still delivers it
    async with running(sink):
        pass
    assert [p[0]["endsAt"] for p in fake.posts] == ["2024-10-27T00:30:05Z"]
