"""What a local journal holds: batches as JSON exactly, in order, across a restart; and which
unit (and fencing token) each entry of a batch is written under."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitord.core.callquality import Priority, QualityChange, WindowFigures
from monitord.core.events import (
    AlertRaised,
    AlertResolved,
    CheckSnapshot,
    CheckState,
    DowntimeClosed,
    DowntimeOpened,
    EpisodeRecorded,
    ServiceDowntimeClosed,
    ServiceDowntimeOpened,
    ServiceDowntimeRecorded,
)
from monitord.errors import JournalError
from monitord.storage.fleet.codec import decode, encode
from monitord.storage.fleet.journal import Journal, JournalEntry
from monitord.storage.fleet.shares import Shares, interval_news
from monitord.storage.interface import (
    Batch,
    CheckCommit,
    EventCommit,
    GapCommit,
    MaintenanceDelete,
    QualityCommit,
    ServiceCommit,
)
from monitord.storage.records import StandaloneEvent

T0 = datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=UTC)

instants = st.integers(0, 10**12).map(lambda us: T0 + timedelta(microseconds=us))
names = st.sampled_from(["sbc-a", "sbc-b", "zürich-1"])
texts = st.text(max_size=30)


@st.composite
def snapshots(draw: st.DrawFn) -> CheckSnapshot:
    opt = st.none() | instants
    return CheckSnapshot(draw(names), draw(st.sampled_from(list(CheckState))),
                         draw(st.integers(0, 99)), draw(st.integers(0, 99)), draw(opt),
                         draw(st.none() | texts), draw(texts), draw(opt), draw(opt), draw(opt))


def _after(draw: st.DrawFn, start: datetime) -> datetime:
    return start + timedelta(microseconds=draw(st.integers(0, 10**9)))


@st.composite
def check_events(draw: st.DrawFn) -> object:
    c, s = draw(names), draw(instants)
    return draw(st.sampled_from([
        AlertRaised(c, _after(draw, s), s, 3, "timeout", draw(texts)),
        AlertResolved(c, _after(draw, s), s),
        DowntimeOpened(c, s, _after(draw, s), "refused", draw(texts)),
        DowntimeClosed(c, s, _after(draw, s), "timeout", "unmonitored"),
        EpisodeRecorded(c, s, _after(draw, s), 4, "timeout", draw(texts)),
    ]))


@st.composite
def entries(draw: st.DrawFn) -> object:
    s = draw(instants)
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return CheckCommit(draw(snapshots()), tuple(draw(st.lists(check_events(), max_size=3))))
    if kind == 1:
        return ServiceCommit((ServiceDowntimeOpened("pbx", s, "timeout", draw(texts)),
                              ServiceDowntimeClosed("pbx", s, _after(draw, s), "removed"),
                              ServiceDowntimeRecorded("pbx", s, _after(draw, s), "x", "y")))
    if kind == 2:
        return QualityCommit((QualityChange("pbx", s, Priority.NONE, Priority.P2,
                                            WindowFigures(20, 3, 1)),))
    if kind == 3:
        return EventCommit((StandaloneEvent("reboot", "check", "sbc-a", s,
                                            {"uptime_seconds": 1.5, "list": [1, "a"],
                                             "nested": {"k": None}}, key="site/reboot/x"),))
    return GapCommit(s, _after(draw, s) + timedelta(microseconds=1), "store_unavailable")


@settings(max_examples=200)
@given(st.lists(entries(), max_size=6), st.none() | instants)
def test_a_batch_round_trips_exactly(items: list[object], last_seen: datetime | None) -> None:
    batch = Batch(tuple(items), last_seen)  # type: ignore[arg-type]
    assert decode(encode(batch)) == batch


def test_what_an_agent_never_journals_is_refused_and_damage_is_named() -> None:
    with pytest.raises(JournalError, match="MaintenanceDelete cannot be journaled"):
        encode(Batch((MaintenanceDelete(3, T0),)))
    with pytest.raises(JournalError, match="does not decode"):
        decode('{"@": "Batch", "entries": {"@tuple": [{"@": "Nope"}]}, "last_seen": null}')
    with pytest.raises(JournalError, match="not a batch"):
        decode("[1, 2]")


async def test_the_journal_keeps_order_across_a_restart_and_trims_what_was_written(
        tmp_path: Path) -> None:
    path = tmp_path / "var" / "journal.db"
    j = Journal(path)
    await j.open()
    for seq in range(1, 6):
        await j.append(JournalEntry("run-1", seq, {"u": 2},
                                    Batch((GapCommit(T0, T0 + timedelta(seconds=seq), "x"),))))
    assert j.waiting == 5
    await j.close()
    again = Journal(path)  # kill -9 and start again: nothing lost
    await again.open()
    assert again.waiting == 5
    first = await again.oldest(3)
    assert [e.seq for e in first] == [1, 2, 3] and first[0].tokens == {"u": 2}
    await again.done(first[-1].row)
    assert again.waiting == 2
    assert [e.seq for e in await again.oldest(10)] == [4, 5]
    await again.close()
    with pytest.raises(JournalError, match="not open"):
        await again.oldest(1)


def test_entries_belong_to_their_unit_and_carry_its_token() -> None:
    shares = Shares({"sbc-a": "sbc-a", "sbc-b": "sbc-a", "lone": "lone"}, {"pbx": "sbc-a"},
                    tokens={"sbc-a": 4})
    snap = CheckSnapshot.initial("sbc-b")
    batch = Batch((CheckCommit(snap), EventCommit((
        StandaloneEvent("reboot", "check", "lone", T0, {}),
        StandaloneEvent("monitoring_changed", "service", "*", T0, {}))),
        ServiceCommit((ServiceDowntimeOpened("pbx", T0, "x", ""),))))
    split = shares.split(batch)
    assert [shares.unit_of(e) for e in split.entries] == ["sbc-a", "lone", None, "sbc-a"]
    assert shares.tokens_for(split) == {"sbc-a": 4}  # lone is not ours: no token
    assert shares.checks_of(["sbc-a"]) == ["sbc-a", "sbc-b"]
    assert shares.services_of(["sbc-a"]) == ["pbx"]


def test_interval_news_is_the_earliest_changed_instant() -> None:
    late = T0 + timedelta(seconds=90)
    batch = Batch((CheckCommit(CheckSnapshot.initial("a"), (
        AlertRaised("a", late, late, 3, "t", ""), DowntimeOpened("a", late, late, "t", ""))),
        ServiceCommit((ServiceDowntimeClosed("pbx", T0, late),))))
    assert interval_news(batch) == T0
    assert interval_news(Batch((CheckCommit(CheckSnapshot.initial("a")),))) is None
