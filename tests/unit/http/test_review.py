"""Incident review over HTTP (issue 16 item 1): append-only, named by the token, shown on reports.

The record (October 2026, 745 h = 2,682,000 s, the daemon running since
1 Sep): voice was down 6 Oct 10:00-11:00 UTC (store:1, 3,600 s) and 8 Oct
12:00-12:30 UTC (store:2, 1,800 s). Policy: P1 only, 99.9 %.
- Before review: 5,400 s down, A = 2,676,600 / 2,682,000.
- Alice reclassifies store:1 as P2 ("one site only, agreed with the
  customer"): 1,800 s down, A = 2,680,200 / 2,682,000; the report shows both
  figures, review version 1, and her entry.
- Bob groups store:1 and store:2 as one problem and excludes 8 Oct
  12:00-12:30 as force majeure; the exclusion counts like maintenance
  (excluded here): 0 s down over 2,680,200 measured seconds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import pytest

from monitord.core.events import ServiceDowntimeRecorded
from tests.unit.http.slaapp import Client, call, sla_app

TOKENS = "alice alice-secret-token-0123\nbob bob-secret-token-4567\n"
ALICE = {"Authorization": "Bearer alice-secret-token-0123"}
BOB = {"Authorization": "Bearer bob-secret-token-4567"}
CONFIG = """
daemon: {site: ams1}
checks:
  - {name: sbc-a, type: sip_options, target: "sip:192.0.2.1:5060"}
services:
  - {name: voice, checks: [sbc-a], sla_policy: p1only, customer: Gemeente Noord}
sla_policies:
  - {name: p1only, contract: XTIUM Managed Voice, target_percent: 99.9, downtime_counts: [P1],
     unmonitored: up}
"""
MONTH = 2_682_000


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[Client, Path]]:
    recorded = [
        ServiceDowntimeRecorded("voice", datetime(2026, 10, 6, 10, tzinfo=UTC),
                                datetime(2026, 10, 6, 11, tzinfo=UTC), "timeout", "no answer"),
        ServiceDowntimeRecorded("voice", datetime(2026, 10, 8, 12, tzinfo=UTC),
                                datetime(2026, 10, 8, 12, 30, tzinfo=UTC), "refused", "ECONNREFUSED"),
    ]
    async with sla_app(tmp_path, CONFIG, TOKENS, recorded) as app:
        yield app.client, app.db


REPORT = "/api/v1/reports/voice?period=2026-10"


async def test_reclassifying_p1_to_p2_changes_the_figure_and_shows_both(
    client: tuple[Client, Path],
) -> None:
    c, _ = client
    before = await call(c, "GET", REPORT, 200)
    assert before["downtime_seconds"] == 5_400 and before["review"] is None
    assert (before["customer"], before["contract"]) == ("Gemeente Noord", "XTIUM Managed Voice")
    body = {"service": "voice", "action": "reclassify", "targets": ["store:1"], "priority": "P2",
            "reason": "one site only, agreed with the customer"}
    entry = await call(c, "POST", "/api/v1/reviews", 201, body, headers=ALICE)
    assert (entry["id"], entry["who"], entry["action"]) == (1, "alice", "reclassify")
    after = await call(c, "GET", REPORT, 200)
    assert after["downtime_seconds"] == 1_800
    assert after["availability_percent"] == round(float(Fraction(MONTH - 1_800, MONTH) * 100), 10)
    review = after["review"]
    assert review["version"] == 1
    assert review["before"]["downtime_seconds"] == 5_400
    assert review["before"]["availability_percent"] == before["availability_percent"]
    (logged,) = review["log"]
    assert logged["who"] == "alice" and "reclassified store:1 as P2" in logged["what"]
    assert "agreed with the customer" in logged["what"]
    first = after["incidents"][0]
    assert (first["priority"], first["counted_seconds"]) == ("P2", 0)


async def test_group_exclude_ticket_and_note(client: tuple[Client, Path]) -> None:
    c, _ = client
    await call(c, "POST", "/api/v1/reviews", 201, {
        "service": "voice", "action": "group", "targets": ["store:1", "store:2"],
        "reason": "the same SBC fault, reported twice"}, headers=BOB)
    grouped = await call(c, "GET", REPORT, 200)
    assert grouped["interruptions"] == 1 and grouped["review"]["before"]["interruptions"] == 2
    assert len(grouped["incidents"]) == 1 and grouped["incidents"][0]["sources"] == [
        "store:1", "store:2"]
    await call(c, "POST", "/api/v1/reviews", 201, {
        "service": "voice", "action": "exclude", "start": "2026-10-08T12:00:00+00:00",
        "end": "2026-10-08T12:30:00+00:00", "category": "force_majeure",
        "reason": "regional power cut"}, headers=BOB)
    await call(c, "POST", "/api/v1/reviews", 201, {
        "service": "voice", "action": "ticket", "targets": ["store:1"], "ticket": "INC-4711"},
        headers=ALICE)
    await call(c, "POST", "/api/v1/reviews", 201, {
        "service": "voice", "action": "note", "targets": ["store:1"], "note": "SBC firmware"},
        headers=ALICE)
    r = await call(c, "GET", REPORT, 200)
    assert r["downtime_seconds"] == 3_600 and r["measured_seconds"] == MONTH - 1_800
    (excluded,) = [i for i in r["intervals"] if i["kind"] == "excluded"]
    assert excluded["reason"] == "review-2 (force_majeure)" and "power cut" in excluded["note"]
    (inc,) = r["incidents"]
    assert inc["tickets"] == ["INC-4711"] and inc["notes"] == ["alice: SBC firmware"]
    assert r["review"]["version"] == 4 and len(r["review"]["log"]) == 4
    listed = await call(c, "GET", "/api/v1/reviews?service=voice", 200)
    assert [e["who"] for e in listed] == ["bob", "bob", "alice", "alice"]


async def test_reviews_are_append_only_and_validated(client: tuple[Client, Path]) -> None:
    c, db = client
    await call(c, "POST", "/api/v1/reviews", 401, {"service": "voice", "action": "note"})
    await call(c, "POST", "/api/v1/reviews", 401, {"service": "voice"},
               headers={"Authorization": "Bearer nope"})
    for body, needle in [
        ({"service": "voice", "action": "reclassify", "targets": ["store:9"], "priority": "P2",
          "reason": "x"}, "no interval store:9"),
        ({"service": "voice", "action": "reclassify", "targets": ["store:1"], "priority": "P2"},
         "'reason'"),
        ({"service": "voice", "action": "reclassify", "targets": ["1"], "priority": "P2",
          "reason": "x"}, "'targets'"),
        ({"service": "voice", "action": "exclude", "start": "2026-10-08T12:00:00+00:00",
          "end": "2026-10-08T12:30:00+00:00", "category": "act_of_god", "reason": "x"},
         "'category'"),
        ({"service": "nope", "action": "note"}, "'service'"),
        ({"service": "voice", "action": "delete"}, "'action'"),
    ]:
        err = await call(c, "POST", "/api/v1/reviews", 400, body, headers=ALICE)
        assert needle in err["error"], (body, err)
    await call(c, "POST", "/api/v1/reviews", 201, {
        "service": "voice", "action": "note", "targets": ["store:2"], "note": "n"}, headers=ALICE)
    with sqlite3.connect(db) as conn:
        for sql in ("UPDATE reviews SET who = 'mallory'", "DELETE FROM reviews"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(sql)


async def test_cli_adds_and_lists_under_the_named_token(
    client: tuple[Client, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`monitord review`: the token file's first token unless --token-name picks another."""
    import asyncio

    from monitord.cli.main import main

    c, _ = client
    url = str(c.make_url("")).rstrip("/")
    tokens = tmp_path / "tokens"
    tokens.write_text(TOKENS)
    tokens.chmod(0o600)
    note = ["review", "add", "--url", url, "--service", "voice", "--action", "note",
            "--target", "store:2", "--note", "customer informed"]
    assert await asyncio.to_thread(main, note) == 1  # no token: refused
    assert "401" in capsys.readouterr().err
    assert await asyncio.to_thread(main, [*note, "--token-file", str(tokens)]) == 0
    assert "added" in capsys.readouterr().out
    named = [*note, "--token-file", str(tokens), "--token-name", "bob"]
    assert await asyncio.to_thread(main, named) == 0
    capsys.readouterr()
    assert await asyncio.to_thread(main, [*named[:-1], "carol"]) == 2
    assert "no token named 'carol' (names: alice, bob)" in capsys.readouterr().err
    assert await asyncio.to_thread(main, ["review", "list", "--url", url]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[2] for line in listed] == ["alice", "bob"]
    assert await asyncio.to_thread(main, ["review", "list", "--url", "http://127.0.0.1:9"]) == 3
    assert "cannot reach the daemon at http://127.0.0.1:9" in capsys.readouterr().err
