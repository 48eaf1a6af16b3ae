"""The rules every `Store` backend keeps (see monitord/storage/interface.py).

Each test runs against every backend through the `open_store` fixture
(conftest.py); a new backend only adds itself there. Nothing here may rely on
one backend's internals: restarts are simulated by opening a second store on
the same data.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitord.core.events import (
    AlertRaised,
    AlertResolved,
    CheckEvent,
    CheckSnapshot,
    CheckState,
    DowntimeClosed,
    DowntimeOpened,
    EpisodeRecorded,
    ServiceDowntimeClosed,
    ServiceDowntimeOpened,
    ServiceDowntimeRecorded,
)
from monitord.errors import StorageError, StoreConflictError
from monitord.storage.interface import Batch, Store
from monitord.storage.records import EpisodeRecord, GapRecord
from tests.unit.storage.conftest import OpenStore
from tests.writes import commit_check, commit_service

T0 = datetime(2024, 3, 31, 0, 0, tzinfo=UTC)  # the night Europe/Amsterdam moves to summer time
CEST = timezone(timedelta(hours=2))


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def down_snapshot(check: str, start: datetime, last_probe: datetime) -> CheckSnapshot:
    return CheckSnapshot(
        check, CheckState.DOWN, 5, 0, start, "timeout", "no 200 OK in 3s", start, last_probe
    )


def up_snapshot(check: str, last_probe: datetime | None) -> CheckSnapshot:
    return CheckSnapshot(check, CheckState.UP, 0, 1, None, None, "", None, last_probe)


def opened(check: str, start: datetime, confirmed: datetime | None = None) -> DowntimeOpened:
    return DowntimeOpened(check, start, confirmed or start, "timeout", f"{check}: no 200 OK")


async def open_downtime(store: Store, check: str, start: datetime, end: datetime | None) -> None:
    await commit_check(store, down_snapshot(check, start, start), [opened(check, start)])
    if end is not None:
        closed = DowntimeClosed(check, start, end, "timeout")
        await commit_check(store, up_snapshot(check, end), [closed])


# --- snapshots ------------------------------------------------------------------


async def test_a_fresh_store_holds_nothing(store: Store) -> None:
    assert await store.load_check_snapshots() == {}
    assert await store.downtimes() == []
    assert await store.episodes() == []
    assert await store.gaps() == []
    assert await store.closed_downtime_seconds() == {}


async def test_snapshot_round_trip_is_exact_and_utc(open_store: OpenStore) -> None:
    store = await open_store()
    first = datetime(2024, 3, 31, 2, 59, 59, 999_999, tzinfo=CEST)
    snapshot = CheckSnapshot(
        "sip-a",
        CheckState.ALERTING,
        3,
        0,
        first,
        "timeout",
        "no answer",
        None,
        first + timedelta(microseconds=20_000_001),
        first + timedelta(seconds=30),
    )
    await commit_check(store, CheckSnapshot.initial("sip-a"), [])
    await commit_check(store, snapshot, [])  # the second commit replaces the first
    await store.close()

    loaded = await (await open_store()).load_check_snapshots()

    assert loaded == {"sip-a": snapshot}
    again = loaded["sip-a"]
    assert again.streak_start is not None and again.last_probe is not None
    assert again.streak_start.utcoffset() == timedelta(0)
    assert again.streak_start.microsecond == 999_999
    assert again.last_probe == datetime(2024, 3, 31, 1, 0, 20, tzinfo=UTC)


aware_datetimes = st.datetimes(
    min_value=datetime(2, 1, 1),
    max_value=datetime(9998, 12, 31),
    timezones=st.builds(
        timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
    ),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(stamp=aware_datetimes)
async def test_any_aware_datetime_round_trips_through_the_store(
    store: Store, stamp: datetime
) -> None:
    snapshot = CheckSnapshot("sip-a", CheckState.FAILING, 1, 0, stamp, "x", "", None, stamp)
    await commit_check(store, snapshot, [])

    loaded = (await store.load_check_snapshots())["sip-a"]

    assert loaded.last_probe == stamp
    assert loaded.last_probe is not None and loaded.last_probe.tzinfo == UTC


# --- check downtimes ------------------------------------------------------------------


async def test_downtime_opened_is_stored_with_its_evidence(store: Store) -> None:
    event = DowntimeOpened("sip-a", t(0), t(40), "timeout", "INVITE: no final response")
    await commit_check(store, down_snapshot("sip-a", t(0), t(40)), [event])

    [interval] = await store.downtimes()

    assert (interval.level, interval.name, interval.start, interval.end) == (
        "check",
        "sip-a",
        t(0),
        None,
    )
    assert (interval.reason, interval.detail, interval.confirmed_at) == (
        "timeout",
        "INVITE: no final response",
        t(40),
    )


def _failing_event_lists() -> list[tuple[str, list[CheckEvent]]]:
    episode = EpisodeRecorded("sip-a", t(0), t(30), 3, "timeout", "")
    return [
        ("close-without-open", [episode, DowntimeClosed("sip-a", t(0), t(50), "timeout")]),
        ("open-twice", [opened("sip-a", t(0)), opened("sip-a", t(10))]),
        ("other-check", [opened("sip-a", t(0)), opened("sip-b", t(0))]),
    ]


@pytest.mark.parametrize(
    "events", [e for _, e in _failing_event_lists()], ids=[i for i, _ in _failing_event_lists()]
)
async def test_commit_check_is_one_transaction(store: Store, events: list[CheckEvent]) -> None:
    before = up_snapshot("sip-a", t(-10))
    await commit_check(store, before, [])

    with pytest.raises(StorageError):
        await commit_check(store, down_snapshot("sip-a", t(0), t(50)), events)

    assert await store.load_check_snapshots() == {"sip-a": before}
    assert await store.downtimes() == []
    assert await store.episodes() == []


async def test_a_second_open_downtime_for_a_check_is_refused(store: Store) -> None:
    await open_downtime(store, "sip-a", t(0), None)
    kept = await store.load_check_snapshots()

    with pytest.raises(StorageError, match="already has an open downtime"):
        await commit_check(store, down_snapshot("sip-a", t(60), t(60)), [opened("sip-a", t(60))])

    [interval] = await store.downtimes()
    assert (interval.start, interval.end) == (t(0), None)
    assert await store.load_check_snapshots() == kept


async def test_closing_ends_the_open_interval_and_a_new_one_may_follow(store: Store) -> None:
    await open_downtime(store, "sip-a", t(0), t(90.5))
    await open_downtime(store, "sip-a", t(200), None)

    first, second = await store.downtimes(name="sip-a")

    assert (first.start, first.end) == (t(0), t(90.5))
    assert (second.start, second.end) == (t(200), None)
    assert await store.closed_downtime_seconds() == {("check", "sip-a"): 90.5}


async def test_closing_without_an_open_interval_is_refused(store: Store) -> None:
    closed = DowntimeClosed("sip-a", t(0), t(10), "timeout")

    with pytest.raises(StorageError, match="no open"):
        await commit_check(store, up_snapshot("sip-a", t(10)), [closed])

    assert await store.load_check_snapshots() == {}


async def test_closing_before_the_stored_start_is_refused(store: Store) -> None:
    await open_downtime(store, "sip-a", t(100), None)
    closed = DowntimeClosed("sip-a", t(0), t(50), "timeout")

    with pytest.raises(StorageError):
        await commit_check(store, up_snapshot("sip-a", t(50)), [closed])

    [interval] = await store.downtimes()
    assert interval.end is None


async def test_alert_events_are_accepted_and_leave_no_records(store: Store) -> None:
    snapshot = CheckSnapshot("sip-a", CheckState.ALERTING, 3, 0, t(0), "timeout", "", None, t(20))
    raised = AlertRaised("sip-a", t(20), t(0), 3, "timeout", "no answer")
    resolved = AlertResolved("sip-a", t(30), t(0))

    await commit_check(store, snapshot, [raised, resolved])

    assert await store.load_check_snapshots() == {"sip-a": snapshot}
    assert await store.downtimes() == []
    assert await store.episodes() == []


async def test_episodes_are_recorded(store: Store) -> None:
    event = EpisodeRecorded("sip-a", t(0), t(30), 4, "timeout", "no answer")
    await commit_check(store, up_snapshot("sip-a", t(30)), [event])

    [episode] = await store.episodes()

    assert episode == EpisodeRecord(episode.id, "sip-a", t(0), t(30), 4, "timeout", "no answer")


async def test_concurrent_commits_neither_interleave_nor_spoil_each_other(store: Store) -> None:
    checks = [f"sip-{n}" for n in range(20)]
    bad = [opened("sip-0", t(0)), opened("sip-0", t(1))]

    results = await asyncio.gather(
        *(open_downtime(store, c, t(0), t(10)) for c in checks),
        commit_check(store, down_snapshot("sip-0", t(0), t(1)), bad),
        return_exceptions=True,
    )

    assert [type(r) for r in results] == [type(None)] * 20 + [StoreConflictError]
    assert len(await store.downtimes()) == 20
    assert all(d.end == t(10) for d in await store.downtimes())


# --- service downtimes ----------------------------------------------------------------


def svc_open(start: datetime, service: str = "voice") -> ServiceDowntimeOpened:
    return ServiceDowntimeOpened(service, start, "timeout", "check sip-a: no answer")


def svc_close(start: datetime, end: datetime, service: str = "voice") -> ServiceDowntimeClosed:
    return ServiceDowntimeClosed(service, start, end)


def svc_past(start: datetime, end: datetime, service: str = "voice") -> ServiceDowntimeRecorded:
    return ServiceDowntimeRecorded(service, start, end, "timeout", "check sbc-a: no answer")


async def test_service_downtime_opens_and_closes(store: Store) -> None:
    await commit_service(store, [svc_open(t(0))])
    await commit_service(store, [svc_close(t(0), t(60))])

    [interval] = await store.downtimes(level="service")

    assert (interval.name, interval.start, interval.end) == ("voice", t(0), t(60))
    assert (interval.reason, interval.detail) == ("timeout", "check sip-a: no answer")


@pytest.mark.parametrize("new_start", [t(59), t(60)], ids=["before-end", "at-end"])
async def test_service_reopening_merges_into_the_previous_interval(
    store: Store, new_start: datetime
) -> None:
    await commit_service(store, [svc_open(t(0)), svc_close(t(0), t(60))])

    await commit_service(store, [svc_open(new_start)])
    [merged] = await store.downtimes(level="service")
    assert (merged.start, merged.end) == (t(0), None)

    await commit_service(store, [svc_close(new_start, t(120))])
    [merged] = await store.downtimes(level="service")
    assert (merged.start, merged.end) == (t(0), t(120))
    assert await store.closed_downtime_seconds() == {("service", "voice"): 120.0}


async def test_service_opening_after_the_previous_end_is_a_new_interval(store: Store) -> None:
    await commit_service(store, [svc_open(t(0)), svc_close(t(0), t(60))])

    await commit_service(store, [svc_open(t(60.000001))])

    first, second = await store.downtimes(level="service")
    assert (first.start, first.end) == (t(0), t(60))
    assert (second.start, second.end) == (t(60.000001), None)


async def test_service_opening_twice_keeps_the_first_interval(store: Store) -> None:
    await commit_service(store, [svc_open(t(0))])

    await commit_service(store, [svc_open(t(30))])

    [interval] = await store.downtimes(level="service")
    assert (interval.start, interval.end) == (t(0), None)


async def test_service_opening_earlier_moves_the_open_start_back(store: Store) -> None:
    """A check confirmed late can show the service went down before the recorded start."""
    await commit_service(store, [svc_open(t(30))])
    earlier = ServiceDowntimeOpened("voice", t(20), "refused", "check reg: ICMP unreachable")

    await commit_service(store, [earlier])

    [interval] = await store.downtimes(level="service")
    assert (interval.start, interval.end) == (t(20), None)
    assert (interval.reason, interval.detail) == ("refused", "check reg: ICMP unreachable")


async def test_service_widening_folds_in_the_intervals_it_touches(store: Store) -> None:
    await commit_service(store, [svc_open(t(0)), svc_close(t(0), t(10))])
    await commit_service(store, [svc_open(t(40)), svc_close(t(40), t(50))])
    await commit_service(store, [svc_open(t(100))])

    # one problem from 5 on: both earlier intervals are part of it
    await commit_service(store, [svc_open(t(5))])

    [interval] = await store.downtimes(level="service")
    assert (interval.start, interval.end) == (t(0), None)


async def test_a_past_interval_can_be_recorded_at_once(store: Store) -> None:
    await commit_service(store, [svc_open(t(100)), svc_close(t(100), t(200))])

    await commit_service(store, [svc_past(t(30), t(50))])

    first, second = await store.downtimes(level="service")
    assert (first.start, first.end) == (t(30), t(50))
    assert (second.start, second.end) == (t(100), t(200))


async def test_a_past_interval_leaves_an_open_interval_it_does_not_reach(store: Store) -> None:
    await commit_service(store, [svc_open(t(100))])

    await commit_service(store, [svc_past(t(30), t(50))])

    past, ongoing = await store.downtimes(level="service")
    assert (past.start, past.end) == (t(30), t(50))
    assert (ongoing.start, ongoing.end) == (t(100), None)


async def test_a_past_interval_reaching_the_open_one_is_one_problem(store: Store) -> None:
    await commit_service(store, [svc_open(t(100))])

    await commit_service(store, [svc_past(t(30), t(100))])

    [interval] = await store.downtimes(level="service")
    assert (interval.start, interval.end) == (t(30), None)


async def test_service_closing_without_an_open_interval_is_one_failed_transaction(
    store: Store,
) -> None:
    with pytest.raises(StorageError, match="no open"):
        await commit_service(store, [svc_open(t(0), "voice"), svc_close(t(0), t(5), "fax")])

    assert await store.downtimes() == []


async def test_an_interval_keeps_why_it_ended(store: Store) -> None:
    """A recovery, a check that left the config, a record resumed after a gap: told apart."""
    await open_downtime(store, "sip-a", t(0), t(10))
    await commit_check(store, down_snapshot("sip-b", t(0), t(0)), [opened("sip-b", t(0))])
    await commit_check(store, up_snapshot("sip-b", t(20)),
                       [DowntimeClosed("sip-b", t(0), t(20), "timeout", cause="removed")])
    await commit_service(store, [svc_open(t(0)), ServiceDowntimeClosed("voice", t(0), t(30),
                                                                       cause="unmonitored")])
    await commit_service(store, [svc_past(t(100), t(110), "fax"), svc_open(t(200), "fax")])

    causes = [(d.name, d.end_cause) for d in await store.downtimes()]
    assert causes == [("sip-a", "recovered"), ("sip-b", "removed"), ("voice", "unmonitored"),
                      ("fax", "recovered"), ("fax", None)]

    await commit_service(store, [svc_open(t(30))])  # the same problem again: open once more
    [voice] = await store.downtimes(level="service", name="voice")
    assert (voice.end, voice.end_cause) == (None, None)


async def test_check_and_service_with_the_same_name_are_separate(store: Store) -> None:
    await open_downtime(store, "voice", t(0), None)
    await commit_service(store, [svc_open(t(10))])

    levels = [(d.level, d.name, d.end) for d in await store.downtimes(name="voice")]

    assert levels == [("check", "voice", None), ("service", "voice", None)]


# --- runs and gaps --------------------------------------------------------------------


async def test_first_start_has_no_gap(store: Store) -> None:
    assert await store.start_run(t(0)) is None
    assert await store.gaps() == []


async def test_restart_after_clean_stop_records_a_clean_gap(open_store: OpenStore) -> None:
    first = await open_store()
    await first.start_run(t(0))
    await first.heartbeat(t(10))
    await first.stop_run(t(20))
    await first.close()

    second = await open_store()
    gap = await second.start_run(t(80))

    assert gap is not None
    assert (gap.start, gap.end, gap.cause) == (t(20), t(80), "clean_shutdown")
    assert await second.gaps() == [gap]


async def test_restart_after_a_crash_starts_the_gap_at_the_last_sign_of_life(
    open_store: OpenStore,
) -> None:
    first = await open_store()
    await first.start_run(t(0))
    await first.heartbeat(t(10))
    await commit_check(first, up_snapshot("sip-a", t(15)), [])
    await first.close()  # no stop_run: as if killed

    second = await open_store()
    gap = await second.start_run(t(100))

    assert gap is not None
    assert gap == GapRecord(gap.id, t(15), t(100), "unclean_shutdown")


async def test_a_commit_is_a_sign_of_life(open_store: OpenStore) -> None:
    first = await open_store()
    await first.start_run(t(0))
    await first.commit(Batch((), last_seen=t(17)))
    await first.close()

    gap = await (await open_store()).start_run(t(100))

    assert gap is not None and gap.start == t(17)


async def test_the_last_sign_of_life_never_moves_back(open_store: OpenStore) -> None:
    first = await open_store()
    await first.start_run(t(0))
    await first.heartbeat(t(30))
    await commit_check(first, up_snapshot("sip-a", t(20)), [])
    await first.heartbeat(t(25))
    await first.close()

    gap = await (await open_store()).start_run(t(100))

    assert gap is not None and gap.start == t(30)


async def test_a_restart_without_lost_time_records_no_gap(open_store: OpenStore) -> None:
    first = await open_store()
    await first.start_run(t(0))
    await first.stop_run(t(10))
    await first.close()

    second = await open_store()
    assert await second.start_run(t(10)) is None
    assert await second.gaps() == []


async def test_heartbeat_grace_shortens_only_crash_gaps(open_store: OpenStore) -> None:
    first = await open_store(heartbeat_grace_seconds=5)
    await first.start_run(t(0))
    await first.heartbeat(t(10))
    await first.close()

    second = await open_store(heartbeat_grace_seconds=5)
    crash = await second.start_run(t(100))
    await second.stop_run(t(200))
    await second.close()
    clean = await (await open_store(heartbeat_grace_seconds=5)).start_run(t(300))

    assert crash is not None and (crash.start, crash.cause) == (t(15), "unclean_shutdown")
    assert clean is not None and (clean.start, clean.cause) == (t(200), "clean_shutdown")


# --- queries --------------------------------------------------------------------------


@pytest.fixture
async def history(store: Store) -> Store:
    """a [10, 20), service s [15, 35), b [30, 40), c [50, open)."""
    await open_downtime(store, "a", t(10), t(20))
    await open_downtime(store, "b", t(30), t(40))
    await open_downtime(store, "c", t(50), None)
    await commit_service(store, [svc_open(t(15), "s"), svc_close(t(15), t(35), "s")])
    return store


@pytest.mark.parametrize(
    ("since", "until", "names"),
    [
        (None, None, ["a", "s", "b", "c"]),
        (t(20), None, ["s", "b", "c"]),  # a ends exactly at since: [since, until) misses it
        (None, t(30), ["a", "s"]),  # b starts exactly at until
        (t(1000), None, ["c"]),  # open intervals reach every later window
        (t(1000), t(2000), ["c"]),
        (t(45), t(50), []),
        (t(39.999999), t(40), ["b"]),
        (t(0), t(10), []),
    ],
)
async def test_downtimes_overlapping_a_window(
    history: Store, since: datetime | None, until: datetime | None, names: list[str]
) -> None:
    found = await history.downtimes(since=since, until=until)

    assert [d.name for d in found] == names


async def test_downtimes_filter_on_level_and_name(history: Store) -> None:
    assert [d.name for d in await history.downtimes(level="service")] == ["s"]
    assert [d.name for d in await history.downtimes(level="check", name="b")] == ["b"]
    assert await history.downtimes(level="check", name="s") == []


async def test_a_zero_length_interval_is_found_at_its_instant(store: Store) -> None:
    await open_downtime(store, "sip-a", t(60), t(60))

    assert len(await store.downtimes(since=t(60), until=t(61))) == 1
    assert await store.downtimes(since=t(60.000001)) == []


async def test_episodes_overlapping_a_window(store: Store) -> None:
    for check, start, end in [("a", 0, 10), ("b", 5, 15), ("a", 20, 30)]:
        episode = EpisodeRecorded(check, t(start), t(end), 3, "timeout", "")
        await commit_check(store, up_snapshot(check, t(end)), [episode])

    assert [(e.check, e.start) for e in await store.episodes(since=t(10))] == [
        ("b", t(5)),
        ("a", t(20)),
    ]
    assert [e.start for e in await store.episodes(check="a", until=t(20))] == [t(0)]


async def test_gaps_overlapping_a_window(open_store: OpenStore) -> None:
    for start, stop in [(0, 10), (20, 30), (40, 50)]:
        run = await open_store()
        await run.start_run(t(start))
        await run.stop_run(t(stop))
        await run.close()
    store = await open_store()

    assert [(g.start, g.end) for g in await store.gaps()] == [(t(10), t(20)), (t(30), t(40))]
    assert [g.start for g in await store.gaps(since=t(20))] == [t(30)]
    assert [g.start for g in await store.gaps(until=t(30))] == [t(10)]


async def test_closed_downtime_seconds_sums_closed_intervals_only(store: Store) -> None:
    await open_downtime(store, "a", t(0), t(1.5))
    await open_downtime(store, "a", t(10), t(10.000001))
    await open_downtime(store, "a", t(20), None)
    await commit_service(store, [svc_open(t(0)), svc_close(t(0), t(30))])

    totals = await store.closed_downtime_seconds()

    assert totals == {("check", "a"): pytest.approx(1.500001, abs=1e-9), ("service", "voice"): 30.0}
