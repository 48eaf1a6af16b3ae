"""Maintenance windows and reports over HTTP, as an SLA manager and a NOC engineer use them.

The record: service voice was down 6 Oct 2026 10:00-11:00 UTC (3,600 s) and
October 2026 is 745 h = 2,682,000 s in Amsterdam. Policy: 99.9 % per month,
maintenance excluded. A window covering the outage, created with the token,
turns those 3,600 s into maintenance in the next report; deleting it turns
them back into downtime.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitord.core.events import ServiceDowntimeRecorded
from monitord.sla.maintenance import in_maintenance
from tests.unit.http.slaapp import Client, SlaApp, call, sla_app

TOKEN = "s3cret-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CONFIG = """
daemon: {site: ams1}
checks:
  - {name: sbc-a, type: sip_options, target: "sip:192.0.2.1:5060"}
services:
  - {name: voice, checks: [sbc-a], sla_policy: month}
  - {name: bare, checks: [sbc-a]}
sla_policies:
  - {name: month, version: "7", target_percent: 99.9}
"""
OUT_START = datetime(2026, 10, 6, 10, tzinfo=UTC)
OUT_END = datetime(2026, 10, 6, 11, tzinfo=UTC)
WINDOW = {
    "service": "voice",
    "start": "2026-10-06T11:30:00+02:00",
    "end": "2026-10-06T13:30:00+02:00",
    "kind": "urgent",
    "announced_at": "2026-10-06T11:00:00+02:00",
    "reason": "emergency SBC replacement",
}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[Client, SlaApp]]:
    recorded = [ServiceDowntimeRecorded("voice", OUT_START, OUT_END, "timeout", "no answer")]
    async with sla_app(tmp_path, CONFIG, TOKEN, recorded) as app:
        yield app.client, app


async def test_window_needs_the_token_and_is_honoured_by_the_next_report(
    client: tuple[Client, SlaApp],
) -> None:
    c, sla = client
    before = await call(c, "GET", "/api/v1/availability?service=voice&period=2026-10", 200)
    assert before["downtime_seconds"] == 3600 and before["maintenance_seconds"] == 0
    assert before["period_seconds"] == 2_682_000 and before["policy_version"] == "7"

    err = await call(c, "POST", "/api/v1/maintenance", 401, WINDOW)
    assert "bearer token" in err["error"]
    await call(c, "POST", "/api/v1/maintenance", 401, WINDOW, headers={"Authorization": "Bearer nope"})
    await call(c, "POST", "/api/v1/maintenance", 401, WINDOW, headers={"Authorization": TOKEN})
    assert await call(c, "GET", "/api/v1/maintenance", 200) == []

    made = await call(c, "POST", "/api/v1/maintenance", 201, WINDOW, headers=AUTH)
    assert made["service"] == "voice" and made["kind"] == "urgent"
    assert made["start"] == "2026-10-06T09:30:00+00:00" and made["deleted_at"] is None
    assert [w["id"] for w in await call(c, "GET", "/api/v1/maintenance", 200)] == [made["id"]]

    after = await call(c, "GET", "/api/v1/availability?service=voice&period=2026-10", 200)
    # the whole outage lies in the 2 h window: excluded, 7,200 s of maintenance
    assert after["downtime_seconds"] == 0 and after["maintenance_seconds"] == 7200
    assert after["measured_seconds"] == 2_682_000 - 7200
    assert after["availability_percent"] == 100
    kinds = {i["kind"] for i in after["intervals"]}
    assert kinds == {"maintenance", "downtime"}  # the interval is listed, counting 0 s
    assert [i["counted_seconds"] for i in after["intervals"] if i["kind"] == "downtime"] == [0]
    # alert suppression sees the window from its announcement on
    assert in_maintenance(sla.pipeline.maintenance, "voice", datetime(2026, 10, 6, 10, 30, tzinfo=UTC))
    assert not in_maintenance(sla.pipeline.maintenance, "voice", datetime(2026, 10, 6, 8, 59, tzinfo=UTC))
    assert not in_maintenance(sla.pipeline.maintenance, "bare", datetime(2026, 10, 6, 10, 30, tzinfo=UTC))

    await call(c, "DELETE", f"/api/v1/maintenance/{made['id']}", 401)
    gone = await call(c, "DELETE", f"/api/v1/maintenance/{made['id']}", 200, headers=AUTH)
    assert gone["deleted_at"] is not None
    await call(c, "DELETE", f"/api/v1/maintenance/{made['id']}", 404, headers=AUTH)
    assert await call(c, "GET", "/api/v1/maintenance", 200) == []
    kept = await call(c, "GET", "/api/v1/maintenance?include_deleted=true", 200)
    assert [w["id"] for w in kept] == [made["id"]]  # withdrawn, still on the record
    again = await call(c, "GET", "/api/v1/availability?service=voice&period=2026-10", 200)
    assert again["downtime_seconds"] == 3600
    assert not in_maintenance(sla.pipeline.maintenance, "voice", datetime(2026, 10, 6, 10, 30, tzinfo=UTC))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"service": None}, "'service'"),
        ({"service": "nope"}, "'service'"),
        ({"start": "2026-10-06 11:30"}, "'start'"),
        ({"start": "yesterday"}, "'start'"),
        ({"end": "2026-10-06T11:00:00+02:00"}, "'end'"),
        ({"kind": "bad kind!"}, "'kind'"),
        ({"announced_at": "2099-01-01T00:00:00+00:00"}, "'announced_at'"),
        ({"reason": 5}, "'reason'"),
        ({"colour": "red"}, "'colour'"),
    ],
)
async def test_bad_bodies_get_a_400_naming_the_field(
    client: tuple[Client, SlaApp], change: dict[str, Any], field: str
) -> None:
    c, _ = client
    body = {k: v for k, v in {**WINDOW, **change}.items() if v is not None}
    err = await call(c, "POST", "/api/v1/maintenance", 400, body, headers=AUTH)
    assert field in err["error"], err


async def test_non_json_body_is_a_400(client: tuple[Client, SlaApp]) -> None:
    c, _ = client
    resp = await c.post("/api/v1/maintenance", data=b"{not json", headers=AUTH)
    assert resp.status == 400 and "JSON" in (await resp.json())["error"]


async def test_without_a_configured_token_writes_are_disabled(tmp_path: Path) -> None:
    async with sla_app(tmp_path, CONFIG, None) as app:
        c = app.client
        err = await call(c, "POST", "/api/v1/maintenance", 503, WINDOW, headers=AUTH)
        assert "daemon.api_token_file" in err["error"]
        await call(c, "DELETE", "/api/v1/maintenance/1", 503, headers=AUTH)
        assert await call(c, "GET", "/api/v1/maintenance", 200) == []


async def test_reports_in_every_format(client: tuple[Client, SlaApp]) -> None:
    c, _ = client
    data = await call(c, "GET", "/api/v1/reports/voice?period=2026-10", 200)
    assert data["service"] == "voice" and data["downtime_seconds"] == 3600
    resp = await c.get("/api/v1/reports/voice", params={"period": "2026-10", "format": "csv"})
    assert resp.status == 200 and resp.content_type == "text/csv"
    assert (await resp.text()).splitlines()[1].startswith("voice,,,month,7,2026-10,")
    resp = await c.get("/api/v1/reports/voice", params={"period": "2026-10", "format": "html"})
    assert resp.status == 200 and resp.content_type == "text/html"
    assert "<svg" in await resp.text()
    everything = await call(c, "GET", "/api/v1/availability?period=2026-10", 200)
    assert [r["service"] for r in everything] == ["voice"]  # bare has no policy
    current = await call(c, "GET", "/api/v1/availability?service=voice", 200)
    assert current["period_kind"] == "month"


@pytest.mark.parametrize(
    ("path", "status", "needle"),
    [
        ("/api/v1/reports/voice?format=xml", 400, "'format'"),
        ("/api/v1/reports/voice?period=2026-13", 400, "'period'"),
        ("/api/v1/reports/nope", 404, "nope"),
        ("/api/v1/reports/bare", 400, "no sla_policy"),
        ("/api/v1/availability?service=voice&when=now", 400, "when"),
        ("/api/v1/maintenance?service=nope", 404, "nope"),
    ],
)
async def test_report_queries_are_validated(
    client: tuple[Client, SlaApp], path: str, status: int, needle: str
) -> None:
    c, _ = client
    err = await call(c, "GET", path, status)
    assert needle in err["error"], err


async def test_cli_adds_lists_and_deletes_through_the_api(
    client: tuple[Client, SlaApp], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from monitord.cli.main import main

    c, sla = client
    runtime = sla.runtime
    url = str(c.make_url("")).rstrip("/")
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    add = ["maintenance", "add", "--url", url, "--service", "voice", "--start", WINDOW["start"],
           "--end", WINDOW["end"], "--kind", "urgent", "--reason", "swap"]
    assert await asyncio.to_thread(main, add) == 1  # no token: refused
    assert "401" in capsys.readouterr().err
    assert await asyncio.to_thread(main, [*add, "--token-file", str(token_file)]) == 0
    assert "added" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["maintenance", "list", "--url", url]) == 0
    listed = capsys.readouterr().out
    assert "voice" in listed and "urgent" in listed and "swap" in listed
    (win,) = await runtime.windows()
    rm = ["maintenance", "delete", str(win.id), "--url", url, "--token-file", str(token_file)]
    assert await asyncio.to_thread(main, rm) == 0
    assert await asyncio.to_thread(main, rm) == 1
    assert "404" in capsys.readouterr().err
    assert await asyncio.to_thread(main, ["maintenance", "list", "--url", "http://127.0.0.1:9"]) == 3


async def test_bulk_availability_equals_each_single_report(
    client: tuple[Client, SlaApp],
) -> None:
    c, _ = client
    bulk = await call(c, "GET", "/api/v1/availability?period=2026-10&summary=true", 200)
    single = await call(c, "GET", "/api/v1/availability?service=voice&period=2026-10", 200)
    (voice,) = bulk
    assert not {"intervals", "incidents", "timeline"} & set(voice)
    as_of = ("as_of", "complete")  # each asked a moment apart; the period is over, so equal
    assert {k: v for k, v in voice.items() if k not in as_of} == {
        k: v for k, v in single.items() if k not in ("intervals", "incidents", "timeline", *as_of)
    }
    full = await call(c, "GET", "/api/v1/availability?period=2026-10", 200)
    assert full[0]["intervals"] == single["intervals"]
    await call(c, "GET", "/api/v1/availability?summary=maybe", 400)
