"""The fleet's tables on a real PostgreSQL: claims are compare-and-set on the fencing token,
evidence written under a stale token is refused, a journal replayed twice applies once,
the judged record's writer lock is the judge's lease, judged changes follow the store's
interval rules."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitord.core.events import (
    CheckSnapshot,
    CheckState,
    DowntimeOpened,
    ServiceDowntimeOpened,
)
from monitord.core.intervals import Interval
from monitord.errors import StorageError, StoreLockedError
from monitord.fleet.assignment import Claim
from monitord.fleet.quorum import JudgedClosed, JudgedGap, JudgedOpened, JudgedPast, Recorded
from monitord.storage.fleet.journal import Journal, JournalEntry
from monitord.storage.fleet.shares import Shares
from monitord.storage.fleet.writer import AgentWriter
from monitord.storage.interface import Batch, CheckCommit, ServiceCommit
from monitord.storage.postgresql.coordination import FleetDb, schema_for, with_schema
from monitord.storage.postgresql.evidence import LocationStore
from monitord.storage.postgresql.judged import FleetRecord, JudgedWrite, JudgeStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def t(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


async def test_agents_of_a_new_location_register_it_at_the_same_time(pg_url: str) -> None:
    """Three agents of a new location start together: each gets the location's schema, none
    fails on PostgreSQL's catalog (CREATE SCHEMA IF NOT EXISTS races its twin)."""
    dbs = [FleetDb(pg_url) for _ in range(4)]
    for db in dbs:
        await db.open()
    try:
        for name in ("fra1", "lon1", "par1"):
            got = await asyncio.gather(*(db.location_schema(name) for db in dbs))
            assert got == [schema_for(name)] * len(dbs)
        assert set(await dbs[0].schemas()) >= {"fra1", "lon1", "par1"}
    finally:
        for db in dbs:
            await db.close()


async def test_claims_are_compare_and_set_and_carry_the_state_over(pg_url: str) -> None:
    async with FleetDb(pg_url) as db:
        assert await db.location_schema("ams1") == "loc_ams1"
        assert schema_for("AMS-1").startswith("loc_") and schema_for("AMS-1") != "loc_ams-1"
        got = await db.claim("ams1", "a", Claim("c1", 0, None), t(0), ["c1"], ["pbx"])
        assert got is not None and got.token == 1 and got.snapshots == {}
        assert await db.claim("ams1", "b", Claim("c1", 0, None), t(0), ["c1"], []) is None
        async with LocationStore(pg_url, schema="loc_ams1", location="ams1", agent="a") as loc:
            down = CheckSnapshot("c1", CheckState.DOWN, 6, 0, t(1), "timeout", "x", t(1), t(6))
            await loc.commit_entries([JournalEntry("j", 1, {"c1": 1}, Batch((
                CheckCommit(down, (DowntimeOpened("c1", t(1), t(5), "timeout", "x"),)),
                ServiceCommit((ServiceDowntimeOpened("pbx", t(1), "timeout", "x"),)))))],
                Shares({"c1": "c1"}, {"pbx": "c1"}).unit_of)
        await db.beat("ams1", "a", t(7), t(0), None)
        taken = await db.claim("ams1", "b", Claim("c1", 1, "a"), t(10), ["c1"], ["pbx"])
        assert taken is not None and taken.token == 2 and taken.previous == "a"
        assert taken.snapshots["c1"] == down and taken.open_services == {"pbx": t(1)}
        assert taken.last_seen == t(7)
        tenures = await db.tenures(unit="c1")
        assert [(x.agent, x.token, x.until, x.end_cause, x.from_agent) for x in tenures] == [
            ("a", 1, t(7), "dead", None), ("b", 2, None, None, "a")]
        await db.beat("ams1", "b", t(11), t(10), t(9))
        assert await db.release("ams1", "b", {"c1": 2}, t(12), leaving=True) == 1
        holdings = await db.holdings("ams1")
        assert holdings["c1"].agent is None and holdings["c1"].token == 2  # free, same token
        members = {m.row.agent: m for m in await db.members("ams1")}
        assert members["b"].row.left and members["b"].through == t(9)
        assert not members["a"].row.left and members["a"].seen == t(7)
        intervals = await db.location_intervals(t(0))
        assert [(r.location, r.level, r.name, r.start, r.end) for r in intervals] == [
            ("ams1", "check", "c1", t(1), None), ("ams1", "service", "pbx", t(1), None)]


async def test_stale_tokens_are_fenced_and_replays_apply_once(pg_url: str) -> None:
    async with FleetDb(pg_url) as db:
        await db.location_schema("ams1")
        await db.claim("ams1", "a", Claim("c1", 0, None), t(0), ["c1"], [])
        unit_of = Shares({"c1": "c1"}, {}).unit_of
        async with LocationStore(pg_url, schema="loc_ams1", location="ams1", agent="a") as loc:
            snap = CheckSnapshot("c1", CheckState.FAILING, 1, 0, t(1), "timeout", "", None, t(1))
            entry = JournalEntry("j", 1, {"c1": 1}, Batch((CheckCommit(snap),)))
            assert (await loc.commit_entries([entry], unit_of)).entries == 1
            again = await loc.commit_entries([entry], unit_of)
            assert (again.entries, again.duplicates) == (0, 1)
            await db.claim("ams1", "b", Claim("c1", 1, "a"), t(5), ["c1"], [])
            late = JournalEntry("j", 2, {"c1": 1}, Batch((CheckCommit(snap),)))
            assert (await loc.commit_entries([late], unit_of)).fenced == ("c1",)


async def test_the_agent_writer_journals_while_the_database_is_gone(pg_url: str,
                                                                     tmp_path: Path) -> None:
    async with FleetDb(pg_url) as db:
        await db.location_schema("ams1")
        await db.claim("ams1", "a", Claim("c1", 0, None), t(0), ["c1"], [])
    shares = Shares({"c1": "c1"}, {}, tokens={"c1": 1})
    gone = LocationStore("postgresql://postgres@127.0.0.1:1/nothing", schema="loc_ams1",
                         location="ams1", agent="a")
    writer = AgentWriter(gone, Journal(tmp_path / "journal.db"), shares)
    await writer.open()  # no database: it starts anyway
    for i in range(3):
        snap = CheckSnapshot("c1", CheckState.FAILING, i + 1, 0, t(1), "timeout", "", None,
                             t(1 + i))
        await writer.commit(Batch((CheckCommit(snap),)))
    assert writer.waiting == 3 and not writer.online and writer.error
    assert not await writer.replay(t(5))
    await writer.close()
    # the agent restarts with the database back: its journal goes in, in order, once
    back = AgentWriter(LocationStore(pg_url, schema="loc_ams1", location="ams1", agent="a"),
                       Journal(tmp_path / "journal.db"), shares)
    await back.open()
    assert back.waiting == 3
    assert await back.replay(t(6)) and back.waiting == 0 and back.written == 3
    async with FleetRecord(with_schema(pg_url, "loc_ams1")) as loc:
        assert (await loc.load_check_snapshots())["c1"].consecutive_failures == 3
    await back.close()


async def test_the_judges_lease_is_the_judged_records_writer_lock(pg_url: str) -> None:
    async with JudgeStore(pg_url) as judge:
        with pytest.raises(StoreLockedError):
            await JudgeStore(pg_url).open()
        await judge.announce("noc", "j1", t(0), new=True)
        w = [JudgedWrite("check", "c1", JudgedOpened(t(10)), "timeout", "ams1: ..."),
             JudgedWrite("check", "c1", JudgedOpened(t(5)), "timeout", "earlier"),
             JudgedWrite("check", "c2", JudgedPast(t(1), t(3), "recovered"), "t", ""),
             JudgedWrite("check", "c2", JudgedPast(t(3), t(4), "unmonitored"), "t", ""),
             JudgedWrite("service", "pbx", JudgedGap(t(20), t(30)), "", "")]
        await judge.commit_judged(w, t(31))
        rec = await judge.judged(t(0))
        assert rec[("check", "c1")] == Recorded(t(5), (), ())
        assert rec[("check", "c2")] == Recorded(None, (Interval(t(1), t(4)),), ())
        assert rec[("service", "pbx")] == Recorded(None, (), (Interval(t(20), t(30)),))
        await judge.commit_judged([JudgedWrite("check", "c1", JudgedClosed(t(5), t(40),
                                                                           "recovered"), "", "")],
                                  t(41))
        with pytest.raises(StorageError, match="no open check downtime"):
            await judge.commit_judged([JudgedWrite("check", "c1", JudgedClosed(t(5), t(40),
                                                                               "recovered"),
                                                   "", "")], t(42))
    async with FleetRecord(pg_url) as reader:
        rows = await reader.downtimes(level="check", name="c1")
        assert [(r.start, r.end, r.end_cause) for r in rows] == [(t(5), t(40), "recovered")]
        gaps = await reader.subject_gaps("service", "pbx")
        assert [(g.start, g.end, g.cause) for g in gaps] == [(t(20), t(30), "quorum_unknown")]


async def test_a_restarted_agent_lets_go_of_what_its_previous_run_held(pg_url: str) -> None:
    async with FleetDb(pg_url) as db:
        await db.location_schema("ams1")
        await db.claim("ams1", "a", Claim("c1", 0, None), t(0), ["c1"], [])
        await db.beat("ams1", "a", t(5), t(0), None)
        assert await db.last_seen("ams1", "a") == t(5)
        assert await db.last_seen("ams1", "nobody") is None
        assert await db.rejoin("ams1", "a", t(5), t(20)) == 1
        assert (await db.holdings("ams1"))["c1"].agent is None
        (tenure,) = await db.tenures(unit="c1")
        assert (tenure.until, tenure.end_cause) == (t(5), "dead")
        assert await db.rejoin("ams1", "a", t(20), t(21)) == 0


async def test_reports_read_the_judged_record_with_its_unknown_stretches(pg_url: str) -> None:
    from monitord.sla.runtime import gather

    async with JudgeStore(pg_url) as judge:
        await judge.commit_judged([
            JudgedWrite("service", "pbx", JudgedPast(t(10), t(70), "recovered"), "timeout", ""),
            JudgedWrite("service", "pbx", JudgedGap(t(100), t(160)), "", ""),
            JudgedWrite("service", "other", JudgedGap(t(0), t(500)), "", "")], t(200))
    async with FleetRecord(pg_url) as record:
        downs, shared = await gather(record, "pbx", t(0), t(300), t(300))
        gaps = shared.gaps
    assert [(d.start, d.end) for d in downs] == [(t(10), t(70))]
    assert [(g.start, g.end, g.cause) for g in gaps] == [(t(100), t(160), "quorum_unknown")]
