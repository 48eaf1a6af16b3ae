"""The HTTP API as a NOC engineer (or the other side's lawyer) queries it.

A real SqliteStore and Pipeline behind `build_app`, served on loopback by
aiohttp's test server. The record, with T0 = 2024-10-27 00:30 UTC (02:30 in
Amsterdam, half an hour before the clocks go back), times in seconds:

- gap: the daemon was not running from -3600 to -1800 (unclean shutdown);
- sbc-a: down [0, 50), 5 timeouts then a 200 OK;
- sbc-b: down since 100, confirmed at 140, still open;
- sbc-c: a near miss (episode) [200, 230), 3 timeouts;
- service voice (any of sbc-a, sbc-b): down [0, 50) and since 100;
- service core (at least 2 of the three): never down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitord.config import effective_checks, parse_config
from monitord.core.pipeline import Pipeline, ResumeState
from monitord.core.supervisor import Health
from monitord.http.api import build_app
from monitord.http.context import ApiContext
from monitord.sinks.live import LiveView
from monitord.sinks.metrics import Metrics
from monitord.storage.records import StandaloneEvent
from monitord.storage.sqlite import SqliteStore
from probes.base import FailureReason, ProbeResult
from probes.measurements import OptionsMeasured
from tests.writes import record_event

T0 = datetime(2024, 10, 27, 0, 30, tzinfo=UTC)

CONFIG = """
daemon:
  site: ams1
defaults:
  interval: 10s
  timeout: 2s
checks:
  - {name: sbc-a, type: sip_options, target: "sip:192.0.2.1:5060", labels: {pop: ams}}
  - {name: sbc-b, type: sip_options, target: "sip:192.0.2.2:5060;transport=tcp"}
  - {name: sbc-c, type: sip_options, target: "sip:192.0.2.3:5060", down_after: 6}
services:
  - {name: voice, checks: [sbc-a, sbc-b], down_when: any}
  - {name: core, checks: [sbc-a, sbc-b, sbc-c], down_when: {at_least: 2}}
"""

Client = TestClient[web.Request, web.Application]


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def iso(seconds: float) -> str:
    return t(seconds).isoformat()


async def feed(p: Pipeline, check: str, pattern: str, start: float) -> None:
    for i, ch in enumerate(pattern):
        at = start + 10 * i
        result = (
            ProbeResult.failure(FailureReason.TIMEOUT, f"{check}: no answer at +{at:g}s")
            if ch == "F"
            else ProbeResult.success(0.012, measured=OptionsMeasured(status=200, transmissions=1))
        )
        await p.observe(check, t(at), result, 0.5)


@pytest.fixture
def health() -> Health:
    """The supervisor's health registry; tests set problems on it."""
    return Health()


@pytest.fixture
async def client(tmp_path: Path, health: Health) -> AsyncIterator[Client]:
    cfg = parse_config(CONFIG, env={})
    checks = effective_checks(cfg)
    metrics = Metrics(cfg.daemon.site)
    metrics.declare([(c.name, c.type) for c in checks], [s.name for s in cfg.services], {})
    async with SqliteStore(tmp_path / "monitord.db") as store:
        await store.start_run(t(-3600))
        await store.start_run(t(-1800))  # the first run never stopped: an unclean gap
        live = LiveView(checks, cfg.services)
        pipeline = Pipeline(checks, cfg.services, store, ResumeState(), [live])
        await pipeline.resume(t(-1800))
        await feed(pipeline, "sbc-a", "FFFFF.", start=0)
        await feed(pipeline, "sbc-b", "FFFFF", start=100)
        await feed(pipeline, "sbc-c", "FFF.", start=200)
        await record_event(store, 
            StandaloneEvent(
                "reboot", "check", "sbc-a", t(300),
                {"check": "sbc-a", "device": "127.0.0.1", "previous_uptime_seconds": 9000.0,
                 "uptime_seconds": 4.0, "booted_at": iso(296)},
            )
        )  # fmt: skip
        app = build_app(
            ApiContext(live, store, metrics, cfg.daemon.site, 0.0, health)
        )
        async with TestClient(TestServer(app)) as c:
            yield c


async def get_json(
    client: Client,
    path: str,
    status: int = 200,
    params: dict[str, str] | None = None,
    **more_params: str,
) -> Any:
    resp = await client.get(path, params={**(params or {}), **more_params})
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    return await resp.json()


def windows(rows: list[dict[str, Any]]) -> list[tuple[str, str, str, str | None]]:
    return [(r["level"], r[r["level"]], r["start"], r["end"]) for r in rows]


# --- checks ------------------------------------------------------------------------


async def test_checks_list_every_configured_check_with_state_and_last_result(
    client: Client,
) -> None:
    checks = await get_json(client, "/api/v1/checks")

    assert [c["name"] for c in checks] == ["sbc-a", "sbc-b", "sbc-c"]
    a, b, c = checks
    assert (a["state"], a["consecutive_failures"], a["down_since"]) == ("up", 0, None)
    assert a["last_result"] == {
        "at": iso(50),
        "ok": True,
        "latency_seconds": 0.012,
        "reason": None,
        "detail": "",
        "measurements": {"sip_status": 200, "sip_transmissions": 1},
    }
    assert a["labels"] == {"pop": "ams"} and a["services"] == ["voice", "core"]

    assert b["state"] == "down"
    assert (b["consecutive_failures"], b["consecutive_successes"]) == (5, 0)
    assert (b["failing_since"], b["down_since"], b["last_probe"]) == (iso(100), iso(100), iso(140))
    assert b["last_result"]["ok"] is False and b["last_result"]["reason"] == "timeout"
    assert b["last_result"]["detail"] == "sbc-b: no answer at +140s"
    assert (b["type"], b["target"]) == ("sip_options", "sip:192.0.2.2:5060;transport=tcp")
    assert (b["interval_seconds"], b["timeout_seconds"]) == (10.0, 2.0)
    assert (b["alert_after"], b["down_after"], b["recover_after"]) == (3, 5, 1)

    assert (c["state"], c["down_after"]) == ("up", 6), "per-check override applied"


async def test_one_check_by_name_and_404_for_an_unknown_one(client: Client) -> None:
    b = await get_json(client, "/api/v1/checks/sbc-b")
    assert (b["name"], b["state"], b["down_since"]) == ("sbc-b", "down", iso(100))

    missing = await get_json(client, "/api/v1/checks/sbc-x", status=404)
    assert "sbc-x" in missing["error"]


async def test_services_show_state_down_since_and_the_checks_that_are_down(
    client: Client,
) -> None:
    voice, core = await get_json(client, "/api/v1/services")

    assert voice == {
        "name": "voice",
        "state": "down",
        "down_since": iso(100),
        "in_maintenance": False,
        "down_when": "any",
        "checks": ["sbc-a", "sbc-b"],
        "down_checks": ["sbc-b"],
    }
    assert (core["state"], core["down_since"], core["down_checks"]) == ("up", None, ["sbc-b"])
    assert core["down_when"] == {"at_least": 2}


# --- downtimes -----------------------------------------------------------------------


async def test_downtimes_hold_start_end_reason_evidence_and_duration(client: Client) -> None:
    rows = await get_json(client, "/api/v1/downtimes")

    assert windows(rows) == [
        ("check", "sbc-a", iso(0), iso(50)),
        ("service", "voice", iso(0), iso(50)),
        ("check", "sbc-b", iso(100), None),
        ("service", "voice", iso(100), None),
    ]
    a = rows[0]
    assert (a["reason"], a["detail"]) == ("timeout", "sbc-a: no answer at +0s")
    assert (a["duration_seconds"], a["open"], a["confirmed_at"]) == (50.0, False, iso(40))
    assert rows[1]["detail"] == "check sbc-a: sbc-a: no answer at +0s"
    assert rows[1]["confirmed_at"] is None
    b = rows[2]
    assert b["open"] is True and b["end"] is None
    now = datetime.now(UTC)
    assert b["duration_seconds"] == pytest.approx((now - t(100)).total_seconds(), abs=60)
    for row in rows:
        for key in ("start", "end", "confirmed_at"):
            if row[key] is not None:
                assert datetime.fromisoformat(row[key]).utcoffset() == timedelta(0), key
                assert row[key].endswith("+00:00"), "ISO-8601 with an explicit offset"


async def test_downtimes_of_one_check_or_one_service(client: Client) -> None:
    by_check = await get_json(client, "/api/v1/downtimes", check="sbc-a")
    assert windows(by_check) == [("check", "sbc-a", iso(0), iso(50))]
    by_service = await get_json(client, "/api/v1/downtimes", service="voice")
    assert windows(by_service) == [
        ("service", "voice", iso(0), iso(50)),
        ("service", "voice", iso(100), None),
    ]
    assert await get_json(client, "/api/v1/downtimes", service="core") == []
    assert await get_json(client, "/api/v1/downtimes", check="sbc-c") == []


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        # closed [0, 50) and open [100, ...): intervals overlapping [since, until)
        (iso(60), None, ["sbc-b"]),
        (iso(49), None, ["sbc-a", "sbc-b"]),
        (iso(50), None, ["sbc-b"]),  # ends are exclusive
        (None, iso(100), ["sbc-a"]),  # so are window ends
        (None, iso(101), ["sbc-a", "sbc-b"]),
        (iso(60), iso(90), []),  # between the outages
        (iso(86_400 * 365), None, ["sbc-b"]),  # an open interval overlaps every later window
        (iso(86_400 * 365), iso(86_400 * 366), ["sbc-b"]),
        ("2024-10-27T02:31:00+02:00", None, ["sbc-b"]),  # t=60 in Amsterdam summer time
        ("2024-10-27T00:30:49Z", None, ["sbc-a", "sbc-b"]),
        ("2024-10-26T20:30:49-04:00", "2024-10-27T00:31:41+00:00", ["sbc-a", "sbc-b"]),
    ],
)
async def test_downtime_windows(
    client: Client, since: str | None, until: str | None, expected: list[str]
) -> None:
    params = {k: v for k, v in (("since", since), ("until", until)) if v is not None}
    rows = await get_json(client, "/api/v1/downtimes", params=params)
    assert [r["check"] for r in rows if r["level"] == "check"] == expected


async def test_an_unescaped_plus_in_the_offset_is_still_read_as_plus(client: Client) -> None:
    resp = await client.get("/api/v1/downtimes?check=sbc-a&since=2024-10-27T02:30:49+02:00")
    assert resp.status == 200
    assert [r["start"] for r in await resp.json()] == [iso(0)]


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"since": "yesterday"}, ["since"]),
        ({"until": "2024-13-01T00:00:00+00:00"}, ["until"]),
        ({"since": "2024-10-27T00:30:00"}, ["since", "offset"]),  # naive: which zone?
        ({"since": iso(100), "until": iso(50)}, ["until", "since"]),
        ({"from": iso(0)}, ["from"]),
        ({"check": "sbc-a", "chek": "sbc-b"}, ["chek"]),
        ({"service": "voice", "check": "sbc-a"}, ["service", "check"]),
    ],
)
async def test_bad_downtime_queries_get_400_naming_the_parameter(
    client: Client, params: dict[str, str], names: list[str]
) -> None:
    body = await get_json(client, "/api/v1/downtimes", status=400, params=params)
    assert set(body) == {"error"}
    for name in names:
        assert name in body["error"]


@pytest.mark.parametrize(("param", "value"), [("check", "sbc-x"), ("service", "fax")])
async def test_downtimes_of_an_unknown_check_or_service_are_404(
    client: Client, param: str, value: str
) -> None:
    body = await get_json(client, "/api/v1/downtimes", status=404, params={param: value})
    assert value in body["error"]


# --- episodes and gaps -------------------------------------------------------------


async def test_episodes_are_the_near_misses(client: Client) -> None:
    (episode,) = await get_json(client, "/api/v1/episodes")
    assert episode == {
        "id": episode["id"],
        "check": "sbc-c",
        "start": iso(200),
        "end": iso(230),
        "failures": 3,
        "reason": "timeout",
        "detail": "sbc-c: no answer at +200s",
    }
    assert await get_json(client, "/api/v1/episodes", check="sbc-a") == []
    assert await get_json(client, "/api/v1/episodes", since=iso(230)) == []
    assert len(await get_json(client, "/api/v1/episodes", since=iso(229))) == 1
    body = await get_json(client, "/api/v1/episodes", status=400, until="soon")
    assert "until" in body["error"]


async def test_gaps_are_the_time_the_daemon_was_not_running(client: Client) -> None:
    (gap,) = await get_json(client, "/api/v1/gaps")
    assert gap == {
        "start": iso(-3600),
        "end": iso(-1800),
        "duration_seconds": 1800.0,
        "cause": "unclean_shutdown",
    }
    assert await get_json(client, "/api/v1/gaps", since=iso(-1800)) == []
    assert await get_json(client, "/api/v1/gaps", until=iso(-3600)) == []
    assert len(await get_json(client, "/api/v1/gaps", since=iso(-2000), until=iso(-1900))) == 1


# --- health and metrics ------------------------------------------------------------


async def test_healthz_is_200_when_healthy_and_503_with_the_problem(
    client: Client, health: Health
) -> None:
    ok = await get_json(client, "/healthz")
    assert (ok["status"], ok["problem"], ok["site"], ok["checks"]) == ("ok", None, "ams1", 3)

    health.set("record", "3 change(s) waiting for the store; failing since ...: disk I/O error")
    bad = await get_json(client, "/healthz", status=503)
    assert (bad["status"], bad["problem"]) == ("unhealthy", health.summary())
    assert bad["problems"] == {"record": health.problems["record"]}


async def test_metrics_are_the_prometheus_text_format(client: Client) -> None:
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.content_type == "text/plain"
    assert resp.headers["Content-Type"].split(";")[1].strip() in ("version=0.0.4", "version=1.0.0")
    text = await resp.text()
    assert 'monitord_check_state{check="sbc-a",site="ams1",state="up"} 1.0' in text
    assert 'monitord_service_up{service="voice",site="ams1"} 1.0' in text
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert samples and all(line.startswith("monitord_") for line in samples)


async def test_unknown_paths_are_404(client: Client) -> None:
    resp = await client.get("/api/v2/checks")
    assert resp.status == 404


# --- nothing a client sends takes the daemon down --------------------------------------

timestamps = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=40),
    st.from_regex(
        r"[0-9]{1,5}-[0-9]{1,2}-[0-9]{1,2}([T ][0-9]{1,2}(:[0-9]{2}){0,2}(\.[0-9]{1,9})?)?"
        r"(Z|[+-][0-9]{2}(:?[0-9]{2}){0,2}(\.[0-9]{1,6})?)?",
        fullmatch=True,
    ),
    st.datetimes(timezones=st.timezones()).map(datetime.isoformat),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(["/api/v1/downtimes", "/api/v1/episodes", "/api/v1/gaps"]),
    since=timestamps,
    until=st.none() | timestamps,
)
async def test_no_since_or_until_gets_a_500(
    client: Client, path: str, since: str, until: str | None
) -> None:
    params = {"since": since} if until is None else {"since": since, "until": until}
    resp = await client.get(path, params=params)
    assert resp.status in (200, 400), await resp.text()
    body = await resp.json()
    if resp.status == 400:
        assert "since" in body["error"] or "until" in body["error"]
    else:
        assert isinstance(body, list)


@pytest.mark.parametrize("path", ["/api/v1/episodes", "/api/v1/gaps", "/api/v1/downtimes"])
async def test_every_list_endpoint_validates_its_query_the_same_way(
    client: Client, path: str
) -> None:
    body = await get_json(client, path, status=400, colour="blue")
    assert body["error"] == "unknown parameter(s): colour"
    body = await get_json(client, path, status=400, since=iso(100), until=iso(50))
    assert body["error"] == "parameter 'until' is before 'since'"


async def test_episodes_of_an_unknown_check_is_404(client: Client) -> None:
    body = await get_json(client, "/api/v1/episodes", status=404, check="nosuch")
    assert body == {"error": "no check named 'nosuch' is configured or on the record"}


async def test_events_lists_logged_reboots(client: Client) -> None:
    (event,) = await get_json(client, "/api/v1/events", kind="reboot")
    assert event["kind"] == "reboot" and event["check"] == "sbc-a"
    assert event["at"] == iso(300) and event["uptime_seconds"] == 4.0
    assert event["id"], "the id MQTT consumers see for the same event"
    assert await get_json(client, "/api/v1/events", subject="sbc-b") == []
    assert await get_json(client, "/api/v1/events", since=iso(301)) == []
    body = await get_json(client, "/api/v1/events", status=400, check="sbc-a")
    assert body["error"] == "unknown parameter(s): check"
