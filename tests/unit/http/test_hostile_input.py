"""Issue 12 item 9: nothing a client sends gets a 500; every bad input is a 4xx naming it.

The app is driven in-process (aiohttp's test server) over a real SqliteStore,
Pipeline and SLA runtime, as in test_api.py and test_sla.py. Hypothesis
varies every parameter the API reads: query parameters, path parameters, the
maintenance body field by field, and the Authorization header.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitord.http.sla import WINDOW_FIELDS
from tests.unit.http.slaapp import Client, sla_app

TOKEN = "s3cret-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CONFIG = """
daemon: {site: ams1}
checks:
  - {name: sbc-a, type: sip_options, target: "sip:192.0.2.1:5060"}
services:
  - {name: monthly, checks: [sbc-a], sla_policy: month}
  - {name: yearly, checks: [sbc-a], sla_policy: year}
  - {name: rolling, checks: [sbc-a], sla_policy: rolling}
  - {name: contract, checks: [sbc-a], sla_policy: contract}
  - {name: bare, checks: [sbc-a]}
sla_policies:
  - {name: month, target_percent: 99.9}
  - {name: year, target_percent: 99.9, period: year}
  - {name: rolling, target_percent: 99.9, period: rolling_12_months}
  - {name: contract, target_percent: 99.9, period: contract_year, contract_start: 2025-03-15}
"""
SERVICES = ["monthly", "yearly", "rolling", "contract", "bare"]
SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    async with sla_app(tmp_path, CONFIG, TOKEN) as app:
        yield app.client


# --- what a hostile or careless client sends ---------------------------------------------

text = st.text(max_size=30)  # any Unicode, lone surrogates included
instants = st.one_of(
    text,
    st.from_regex(
        r"[0-9]{1,5}-[0-9]{1,2}-[0-9]{1,2}([T ][0-9]{1,2}(:[0-9]{2}){0,2}(\.[0-9]{1,9})?)?"
        r"(Z|[+-][0-9]{2}(:?[0-9]{2}){0,2})?",
        fullmatch=True,
    ),
    st.datetimes(timezones=st.timezones()).map(datetime.isoformat),
    st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
                     "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999+00:00"]),
)
periods = st.one_of(
    text,
    st.from_regex(r"[0-9]{1,5}(-[0-9]{1,3})?", fullmatch=True),
    st.sampled_from(["9999-12", "0001-01", "9999", "0001", "0000-00", "2026-13", "1969-12"]),
)
ids = st.one_of(
    st.integers(-(10**30), 10**30).map(str),
    text,
    st.sampled_from(["99999999999999999999", "9223372036854775807", "9223372036854775808",
                     "²", "١٢", "0x10", "1e3", " 1"]),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)

QUERIES: dict[str, dict[str, st.SearchStrategy[str]]] = {
    "/api/v1/checks": {},
    "/api/v1/services": {},
    "/api/v1/downtimes": {"since": instants, "until": instants,
                          "service": st.sampled_from(SERVICES) | text,
                          "check": st.just("sbc-a") | text},
    "/api/v1/episodes": {"since": instants, "until": instants, "check": st.just("sbc-a") | text},
    "/api/v1/gaps": {"since": instants, "until": instants},
    "/api/v1/events": {"since": instants, "until": instants, "kind": text, "subject": text},
    "/api/v1/maintenance": {"service": st.sampled_from(SERVICES) | text,
                            "include_deleted": st.sampled_from(["true", "0"]) | text},
    "/api/v1/availability": {"service": st.sampled_from(SERVICES) | text, "period": periods},
}


def _names_what_was_bad(error: str, given_names: set[str]) -> bool:
    return any(name in error for name in given_names)


def _assert_answer(status: int, body: str, names: set[str]) -> None:
    """Below 500; a 400 is JSON naming one of the inputs (aiohttp's own 404 for a path that
    matches no route, e.g. an empty service name, is plain text)."""
    assert status < 500, body
    if status == 400:
        error = json.loads(body)["error"]
        assert isinstance(error, str) and error
        assert _names_what_was_bad(error, names), (error, names)


@SETTINGS
@given(data=st.data())
async def test_no_query_gets_a_500(client: Client, data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(sorted(QUERIES)))
    params = {
        name: data.draw(strategy, label=name)
        for name, strategy in QUERIES[path].items()
        if data.draw(st.booleans(), label=f"send {name}")
    }
    if data.draw(st.booleans(), label="an unknown parameter"):
        params[data.draw(st.sampled_from(["colour", "Since", "period "]))] = "x"
    resp = await client.get(path, params=params)
    _assert_answer(resp.status, await resp.text(), {*params, "parameter"})


@SETTINGS
@given(service=st.sampled_from(SERVICES) | text, period=st.none() | periods,
       fmt=st.none() | st.sampled_from(["json", "csv", "html"]) | text)
async def test_no_report_request_gets_a_500(
    client: Client, service: str, period: str | None, fmt: str | None
) -> None:
    params = {k: v for k, v in (("period", period), ("format", fmt)) if v is not None}
    resp = await client.get(f"/api/v1/reports/{quote(service, safe='')}", params=params)
    _assert_answer(resp.status, await resp.text(), {*params, "service"})


@pytest.mark.parametrize(
    ("service", "period"),
    [("monthly", "9999-12"), ("monthly", "0001-01"), ("yearly", "9999"), ("yearly", "0001"),
     ("rolling", "0001-05"), ("rolling", "9999-12"), ("contract", "9999-12"),
     ("contract", "0001-01")],
)
async def test_periods_out_of_range_are_a_400_naming_period(
    client: Client, service: str, period: str
) -> None:
    resp = await client.get("/api/v1/availability", params={"service": service, "period": period})
    assert resp.status == 400, await resp.text()
    assert (await resp.json())["error"].startswith("parameter 'period': ")


@SETTINGS
@given(window_id=ids, auth=st.booleans())
async def test_no_delete_gets_a_500(client: Client, window_id: str, auth: bool) -> None:
    resp = await client.delete(
        f"/api/v1/maintenance/{quote(window_id, safe='')}", headers=AUTH if auth else {}
    )
    body = await resp.text()
    assert resp.status < 500, body
    if auth and resp.status == 400:
        assert "window id" in json.loads(body)["error"]


async def test_a_window_id_beyond_sqlite_integers_is_a_400_or_404(client: Client) -> None:
    resp = await client.delete("/api/v1/maintenance/99999999999999999999", headers=AUTH)
    assert resp.status == 400, await resp.text()
    assert "window id" in (await resp.json())["error"]
    resp = await client.delete("/api/v1/maintenance/9223372036854775807", headers=AUTH)
    assert resp.status == 404, await resp.text()


GOOD_WINDOW = {"service": "monthly", "start": "2026-10-06T11:30:00+02:00",
               "end": "2026-10-06T13:30:00+02:00", "kind": "urgent",
               "announced_at": "2026-10-06T11:00:00+02:00", "reason": "swap"}
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "service": st.sampled_from(SERVICES) | json_values,
    "start": instants | json_values,
    "end": instants | json_values,
    "kind": st.sampled_from(["regular", "urgent"]) | json_values,
    "announced_at": instants | json_values,
    "reason": text | json_values,
}


@SETTINGS
@given(data=st.data())
async def test_no_maintenance_body_gets_a_500(client: Client, data: st.DataObject) -> None:
    body = dict(GOOD_WINDOW)
    for field in data.draw(st.sets(st.sampled_from(WINDOW_FIELDS), min_size=1), label="fields"):
        if data.draw(st.booleans(), label=f"drop {field}"):
            body.pop(field)
        else:
            body[field] = data.draw(FIELD_VALUES[field], label=field)
    raw = json.dumps(body).encode()
    resp = await client.post("/api/v1/maintenance", data=raw, headers=AUTH)
    _assert_answer(resp.status, await resp.text(), {*WINDOW_FIELDS, "body"})


@pytest.mark.parametrize(
    ("field", "value"),
    [("start", "0001-01-01T00:00:00+14:00"), ("end", "9999-12-31T23:59:59-14:00"),
     ("announced_at", "0001-01-01T00:00:00+14:00"), ("reason", "\ud800"),
     ("start", "1969-12-31T23:59:59+00:00")],
)
async def test_edge_instants_and_text_in_a_body_are_a_400_naming_the_field(
    client: Client, field: str, value: str
) -> None:
    raw = json.dumps({**GOOD_WINDOW, field: value}).encode()
    resp = await client.post("/api/v1/maintenance", data=raw, headers=AUTH)
    assert resp.status == 400, await resp.text()
    assert f"field {field!r}" in (await resp.json())["error"]


@pytest.mark.parametrize(
    "raw",
    [b"[" * 100_000 + b"]" * 100_000, b'{"service": ' * 50_000, b"\xff\xfe", b"",
     b'{"reason": "\\udc80"}', b"1e999999"],
    ids=["deep", "deep-object", "not-utf8", "empty", "surrogate", "huge-float"],
)
async def test_hostile_bodies_are_a_400(client: Client, raw: bytes) -> None:
    resp = await client.post("/api/v1/maintenance", data=raw, headers=AUTH)
    assert resp.status == 400, await resp.text()
    assert "body" in (await resp.json())["error"] or "field" in (await resp.json())["error"]


@SETTINGS
# what the client lets through as a header value: printable Latin-1 (no controls)
@given(header=st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                                    exclude_characters=[chr(c) for c in range(0x7F, 0xA0)]),
                      max_size=60))
async def test_no_authorization_header_gets_a_500(client: Client, header: str) -> None:
    raw = json.dumps(GOOD_WINDOW).encode()
    resp = await client.post("/api/v1/maintenance", data=raw, headers={"Authorization": header})
    assert resp.status < 500 or resp.status == 503, await resp.text()


@pytest.mark.parametrize(
    "query",
    ["kind=%ED%A0%80", "subject=%00", "subject=%FF%FE", "since=%ED%A0%80", "kind=a%00b",
     "until=2026-01-01T00:00:00%2B14:00&since=0001-01-01T00:00:00%2B14:00"],
)
async def test_raw_query_bytes_are_a_400_or_an_answer(client: Client, query: str) -> None:
    """Percent-encoded bytes that are not UTF-8 text, or a NUL, as a raw client sends them."""
    from yarl import URL

    resp = await client.get(URL(f"/api/v1/events?{query}", encoded=True))
    _assert_answer(resp.status, await resp.text(), {"kind", "subject", "since", "until"})
