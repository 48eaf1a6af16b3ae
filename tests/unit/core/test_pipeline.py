"""Pipeline: probe results in, state, stored intervals and sink outcomes out.

Real SqliteStore on a temporary file, configs parsed from YAML exactly as the
daemon does. Written the gatus way: feed one probe at a time and assert what
a NOC engineer would look at after each step (state, counters, what the
store holds). Probe times are seconds after T0; thresholds are the VIOMS
defaults (alert after 3, down after 5, recover after 1) unless a test says
otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitord.config import Config, effective_checks, parse_config
from monitord.core.events import (
    AlertRaised,
    AlertResolved,
    CheckSnapshot,
    CheckState,
    DowntimeClosed,
    DowntimeOpened,
    ServiceDowntimeClosed,
    ServiceDowntimeOpened,
    ServiceDowntimeRecorded,
)
from monitord.core.pipeline import Pipeline, ResumeState
from monitord.core.stream import Committed, Sink
from monitord.errors import StorageError
from monitord.storage.interface import Batch, CheckCommit, CommitReceipt, ServiceCommit, Store
from monitord.storage.sqlite import SqliteStore
from probes.base import FailureReason, ProbeResult
from probes.measurements import OptionsMeasured

T0 = datetime(2024, 10, 27, 0, 30, tzinfo=UTC)  # the night Europe/Amsterdam leaves summer time
U, F, A, D = CheckState.UP, CheckState.FAILING, CheckState.ALERTING, CheckState.DOWN

CONFIG = """
daemon:
  site: test
defaults:
  interval: 10s
  timeout: 2s
checks:
  - {name: sbc-a, type: sip_options, target: "sip:192.0.2.1:5060"}
  - {name: sbc-b, type: sip_options, target: "sip:192.0.2.2:5060"}
  - {name: sbc-c, type: sip_options, target: "sip:192.0.2.3:5060"}
services:
  - {name: any-ab, checks: [sbc-a, sbc-b], down_when: any}
  - {name: all-ab, checks: [sbc-a, sbc-b], down_when: all}
  - {name: two-of-abc, checks: [sbc-a, sbc-b, sbc-c], down_when: {at_least: 2}}
  - {name: all-abc, checks: [sbc-a, sbc-b, sbc-c], down_when: all}
"""


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def fail(detail: str = "no answer within 2s") -> ProbeResult:
    return ProbeResult.failure(FailureReason.TIMEOUT, detail)


def ok(latency: float = 0.012) -> ProbeResult:
    return ProbeResult.success(latency, measured=OptionsMeasured(status=200, transmissions=1))


def config(text: str = CONFIG) -> Config:
    return parse_config(text, env={})


# --- test doubles: stand-ins for the store and sinks, not peers ----------------------


class RecordingStore(SqliteStore):
    """Test double: a real SqliteStore that logs what was committed, in order."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.commit_check_calls = 0
        self.committed: list[object] = []  # events and snapshots, once their commit returned
        self.fail_with: list[type[BaseException]] = []  # the next commits fail with these

    async def commit(self, batch: Batch) -> CommitReceipt:
        if self.fail_with:
            exc = self.fail_with.pop(0)
            raise exc("disk full (injected by the test double)")
        receipt = await super().commit(batch)
        for entry in batch.entries:
            if isinstance(entry, CheckCommit):
                self.commit_check_calls += 1
                self.committed += [entry.snapshot, *entry.events]
            elif isinstance(entry, ServiceCommit):
                self.committed += list(entry.events)
        return receipt


class RecordingSink:
    """Test double: keeps every commit and what the store had committed when it was called."""

    def __init__(self, store: RecordingStore | None = None) -> None:
        self._store = store
        self.seen: list[Committed] = []
        self.committed_when_called: list[list[object]] = []

    @property
    def outcomes(self) -> list[Committed]:
        """The commits a probe caused (not the resume, not the clock)."""
        return [c for c in self.seen if c.probe is not None]

    def consume(self, committed: Committed) -> None:
        self.seen.append(committed)
        self.committed_when_called.append(list(self._store.committed) if self._store else [])


class BrokenSink:
    """Test double: a sink that fails on every commit (e.g. an alert provider that is down)."""

    def __init__(self) -> None:
        self.calls = 0

    def consume(self, committed: Committed) -> None:
        self.calls += 1
        raise RuntimeError("webhook returned 502")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[RecordingStore]:
    s = RecordingStore(tmp_path / "monitord.db")
    await s.open()
    yield s
    await s.close()


def build(
    store: Store,
    cfg: Config | None = None,
    sinks: Sequence[Sink] = (),
    snapshots: dict[str, CheckSnapshot] | None = None,
    open_services: dict[str, datetime] | None = None,
) -> Pipeline:
    cfg = cfg or config()
    resume = ResumeState(snapshots or {}, open_services or {})
    return Pipeline(effective_checks(cfg), cfg.services, store, resume, sinks)


async def feed(p: Pipeline, check: str, pattern: str, start: float = 0, every: float = 10) -> None:
    """'F' fails, '.' succeeds, one probe every `every` seconds from `start`."""
    for i, ch in enumerate(pattern):
        at = start + i * every
        await p.observe(
            check, t(at), fail(f"{check}: no answer at +{at:g}s") if ch == "F" else ok(), 0.5
        )


# --- one check -------------------------------------------------------------------


async def test_an_outage_is_one_downtime_from_first_failure_to_first_success(
    store: RecordingStore,
) -> None:
    p = build(store)
    pattern = "..FFFFFFF.."
    # state, consecutive failures, check downtimes stored, of which open
    expected = [
        (U, 0, 0, 0),
        (U, 0, 0, 0),
        (F, 1, 0, 0),  # t=20: the first failure
        (F, 2, 0, 0),
        (A, 3, 0, 0),  # alert_after
        (A, 4, 0, 0),
        (D, 5, 1, 1),  # down_after: the interval opens, backdated to t=20
        (D, 6, 1, 1),
        (D, 7, 1, 1),
        (U, 0, 1, 0),  # t=90: the first success ends it
        (U, 0, 1, 0),
    ]
    for i, (ch, (state, failures, stored, still_open)) in enumerate(
        zip(pattern, expected, strict=True)
    ):
        await feed(p, "sbc-a", ch, start=10 * i)
        snap = p.snapshot("sbc-a")
        rows = await store.downtimes(level="check")
        assert (snap.state, snap.consecutive_failures) == (state, failures), f"step {i}"
        assert (len(rows), sum(r.end is None for r in rows)) == (stored, still_open), f"step {i}"

    (row,) = await store.downtimes(level="check", name="sbc-a")
    assert row.start == t(20), "downtime starts at the first failed probe"
    assert row.end == t(90), "downtime ends at the first successful probe"
    assert row.confirmed_at == t(60)
    assert (row.reason, row.detail) == ("timeout", "sbc-a: no answer at +20s")
    assert row.duration_seconds(t(1000)) == 70.0
    assert await store.episodes() == [], "an outage that reached DOWN is not also a near miss"
    assert (await store.load_check_snapshots())["sbc-a"].state is U


@pytest.mark.parametrize("failures", [3, 4])
async def test_a_streak_that_alerts_but_recovers_before_down_after_is_an_episode(
    store: RecordingStore, failures: int
) -> None:
    p = build(store)
    await feed(p, "sbc-a", "." + "F" * failures + "..")

    assert await store.downtimes() == [], "a near miss opens no downtime"
    (episode,) = await store.episodes(check="sbc-a")
    assert episode.start == t(10) and episode.end == t(10 + 10 * failures)
    assert episode.failures == failures
    assert (episode.reason, episode.detail) == ("timeout", "sbc-a: no answer at +10s")


async def test_two_failures_leave_no_record(store: RecordingStore) -> None:
    p = build(store)
    await feed(p, "sbc-a", ".FF..")
    assert await store.downtimes() == [] and await store.episodes() == []
    assert p.snapshot("sbc-a").state is U


# --- services ----------------------------------------------------------------------


async def test_service_intervals_follow_down_when(store: RecordingStore) -> None:
    """sbc-a is down [0, 100), sbc-b [21, 81), sbc-c never: probes interleave 1 s apart."""
    p = build(store)
    a = "FFFFFFFFFF..."  # ticks 0-9 fail, first success at t=100
    b = "..FFFFFF....."  # ticks 2-7 fail (t=21..71), first success at t=81
    for i in range(len(a)):
        await feed(p, "sbc-a", a[i], start=10 * i)
        await feed(p, "sbc-b", b[i], start=10 * i + 1)
        await feed(p, "sbc-c", ".", start=10 * i + 2)

    def spans(name: str) -> list[tuple[datetime, datetime | None]]:
        return [(r.start, r.end) for r in rows if r.name == name]

    rows = await store.downtimes(level="service")
    assert spans("any-ab") == [(t(0), t(100))], "any: from the first check down to the last up"
    assert spans("all-ab") == [(t(21), t(81))], "all: only while both were down"
    assert spans("two-of-abc") == [(t(21), t(81))], "at_least 2: the same two checks"
    assert spans("all-abc") == [], "sbc-c never failed"
    (any_ab,) = (r for r in rows if r.name == "any-ab")
    assert any_ab.reason == "timeout"
    assert any_ab.detail == "check sbc-a: sbc-a: no answer at +0s", "evidence of the first check"
    for name in ("any-ab", "all-ab", "two-of-abc", "all-abc"):
        assert not p.tracker.is_down(name)


async def test_a_service_stays_down_while_any_check_is_down(store: RecordingStore) -> None:
    p = build(store)
    await feed(p, "sbc-a", "FFFFF")
    assert p.tracker.is_down("any-ab") and p.tracker.down_since("any-ab") == t(0)
    assert p.tracker.down_checks("any-ab") == ["sbc-a"]
    assert not p.tracker.is_down("all-ab")
    (row,) = await store.downtimes(level="service")
    assert (row.name, row.start, row.end) == ("any-ab", t(0), None)


# --- sinks ---------------------------------------------------------------------------


async def test_sinks_see_before_and_after_snapshots_and_the_events(
    store: RecordingStore,
) -> None:
    sink = RecordingSink(store)
    p = build(store, sinks=[sink])
    await feed(p, "sbc-a", "FFFFF.")

    assert len(sink.outcomes) == 6
    assert [o.probe.after.state for o in sink.outcomes if o.probe] == [F, F, A, A, D, U]
    assert [o.probe.before.state for o in sink.outcomes if o.probe] == [U, F, F, A, A, D]
    assert [[type(e) for e in o.check_events] for o in sink.outcomes] == [
        [],
        [],
        [AlertRaised],
        [],
        [DowntimeOpened],
        [DowntimeClosed, AlertResolved],
    ]
    confirm = sink.outcomes[4]
    assert confirm.probe is not None
    assert confirm.probe.check.name == "sbc-a" and confirm.at == t(40)
    assert confirm.probe.result.reason is FailureReason.TIMEOUT and confirm.probe.duration == 0.5
    assert confirm.probe.before.consecutive_failures == 4
    assert confirm.probe.after.consecutive_failures == 5
    assert confirm.service_events == (
        ServiceDowntimeOpened("any-ab", t(0), "timeout", "check sbc-a: sbc-a: no answer at +0s"),
    )
    assert sink.outcomes[5].service_events == (ServiceDowntimeClosed("any-ab", t(0), t(50)),)


async def test_the_store_is_written_before_any_sink_hears_of_an_event(
    store: RecordingStore,
) -> None:
    sink = RecordingSink(store)
    p = build(store, sinks=[sink])
    await feed(p, "sbc-a", "FFFFF.")

    for outcome, committed in zip(sink.outcomes, sink.committed_when_called, strict=True):
        for event in (*outcome.check_events, *outcome.service_events):
            assert event in committed, f"{event} announced before it was stored"


async def test_a_failing_sink_neither_stops_recording_nor_the_other_sinks(
    store: RecordingStore,
) -> None:
    broken, sink = BrokenSink(), RecordingSink(store)
    p = build(store, sinks=[broken, sink])
    await feed(p, "sbc-a", "FFFFF.")

    assert broken.calls == 6 and len(sink.outcomes) == 6
    (row,) = await store.downtimes(level="check")
    assert (row.start, row.end) == (t(0), t(50))
    assert p.snapshot("sbc-a").state is U


async def test_a_failed_commit_keeps_the_truth_and_writes_it_in_order_when_the_store_answers(
    store: RecordingStore,
) -> None:
    """A full disk while the check goes DOWN: the state machine keeps going, alerts keep
    flowing (sinks hear the events, marked unrecorded), and once the store answers the
    interval is written with its true start and end, not the moment space returned."""
    sink = RecordingSink(store)
    p = build(store, sinks=[sink])
    await feed(p, "sbc-a", "FFFF")
    store.fail_with = [StorageError] * 2  # the confirming commit, and the first retry

    confirm = await p.observe("sbc-a", t(40), fail(), 0.5)  # confirms DOWN; not written
    assert not confirm.recorded
    assert [type(e) for e in confirm.check_events] == [DowntimeOpened]
    assert p.snapshot("sbc-a").state is D and p.tracker.is_down("any-ab")
    health = p.health(t(40))
    assert health.waiting == 2 and health.failing_since == t(40) and not health.healthy
    assert await store.downtimes() == []

    await feed(p, "sbc-a", "F.", start=50)  # still failing: both queued behind the first
    assert await store.downtimes() == []
    assert await p.flush(t(65)) is True  # the upkeep task's retry: the store answers
    check_row, service_row = await store.downtimes()
    assert (check_row.start, check_row.confirmed_at, check_row.end) == (t(0), t(40), t(60))
    assert (service_row.name, service_row.start, service_row.end) == ("any-ab", t(0), t(60))
    assert p.health(t(65)).healthy
    assert sink.seen[-1].events[-1] == p.health(t(65))  # the recovery is announced


async def test_a_cancelled_commit_is_written_by_the_final_flush_and_never_twice(
    store: RecordingStore,
) -> None:
    p = build(store)
    await feed(p, "sbc-a", "FFFFF")
    store.fail_with = [asyncio.CancelledError]
    with pytest.raises(asyncio.CancelledError):
        await p.observe("sbc-a", t(50), ok(), 0.5)  # would close the interval: shutdown
    assert await p.flush(t(51)) is True
    (check_row,) = await store.downtimes(level="check")
    assert check_row.end == t(50)
    (service_row,) = await store.downtimes(level="service")
    assert service_row.end == t(50)


async def test_a_replay_of_a_commit_that_had_landed_is_dropped_alone(
    store: RecordingStore,
) -> None:
    """Cancelled after COMMIT landed: the queued replay contradicts the record. Only the
    contradicting entries are dropped; later news in the same merged write is kept."""
    p = build(store)
    await feed(p, "sbc-a", "FFFF")
    store.fail_with = [StorageError]
    await p.observe("sbc-a", t(40), fail(), 0.5)  # queued
    await store.commit(Batch((CheckCommit(p.snapshot("sbc-a"), (
        DowntimeOpened("sbc-a", t(0), t(40), "timeout", "landed"),)),)))  # as if it had landed
    await p.observe("sbc-b", t(41), fail(), 0.5)  # queued behind it
    assert await p.flush(t(42)) is True
    rows = await store.downtimes(level="check")
    assert [(r.name, r.detail) for r in rows] == [("sbc-a", "landed")]
    assert (await store.load_check_snapshots())["sbc-b"].consecutive_failures == 1


async def test_the_record_freezes_at_its_bound_and_resyncs_with_a_gap(tmp_path: Path) -> None:
    """Past the backlog bound nothing more is queued; when the store returns the frozen span
    is an unmonitored gap and the intervals match what the daemon saw."""
    store = RecordingStore(tmp_path / "m.db")
    await store.open()
    await store.start_run(t(-1))
    try:
        cfg = config()
        p = Pipeline(effective_checks(cfg), cfg.services, store, ResumeState(), [],
                     backlog_limit=12)
        await feed(p, "sbc-b", "FFFFF")  # sbc-b DOWN since 0, recorded
        store.fail_with = [StorageError] * 1000
        await feed(p, "sbc-a", "FFFFFF.FFFFFFFF", start=100)  # a's outage, recovery, outage
        await feed(p, "sbc-b", ".", start=300)  # b recovers while frozen
        assert p.health(t(300)).lost_since is not None
        store.fail_with = []
        assert await p.flush(t(400)) is True
        frozen = p.health(t(400))
        assert frozen.healthy
        [gap] = [g for g in await store.gaps() if g.cause == "store_unavailable"]
        assert gap.end == t(400) and t(100) < gap.start < t(300)
        rows = {(r.name, r.start): r.end for r in await store.downtimes(level="check")}
        assert rows[("sbc-b", t(0))] == gap.start, "closed where the record froze"
        assert rows[("sbc-a", t(170))] is None, "a's open outage kept its true start"
        assert (await store.load_check_snapshots())["sbc-a"].state is D
    finally:
        await store.close()


async def test_an_up_check_that_stays_up_is_not_rewritten_on_every_probe(
    store: RecordingStore,
) -> None:
    p = build(store)
    await feed(p, "sbc-a", "." * 50)
    assert store.commit_check_calls == 0, "nothing to persist for a check that stays up"

    await feed(p, "sbc-a", "F", start=500)
    assert store.commit_check_calls == 1, "the first failure starts a streak worth resuming"
    await feed(p, "sbc-a", "F", start=510)
    assert store.commit_check_calls == 2
    await feed(p, "sbc-a", "." * 20, start=520)
    assert store.commit_check_calls == 3, "the recovery is written once, then nothing"


async def test_a_check_that_stays_down_is_written_with_the_next_commit_not_per_probe(
    store: RecordingStore,
) -> None:
    """A site-wide outage puts every check here on every probe (lanes.progress_only)."""
    p = build(store)
    await feed(p, "sbc-a", "FFFFF")  # DOWN at the fifth failure, its interval open
    written = store.commit_check_calls
    await feed(p, "sbc-a", "F" * 20, start=50)
    assert store.commit_check_calls == written, "only the count moved: nothing written yet"
    assert p.snapshot("sbc-a").consecutive_failures == 25

    await p.heartbeat(t(300))
    assert (await store.load_check_snapshots())["sbc-a"].consecutive_failures == 25
    await feed(p, "sbc-a", "F", start=310)
    await feed(p, "sbc-b", "F", start=320)  # any other commit takes it along, first
    assert (await store.load_check_snapshots())["sbc-a"].consecutive_failures == 26
    await feed(p, "sbc-a", "FF", start=330)
    await feed(p, "sbc-a", ".", start=350)
    stored = (await store.load_check_snapshots())["sbc-a"]
    assert (stored.state, stored.consecutive_failures) == (U, 0), "the recovery is not undone"
    [row] = await store.downtimes(level="check")
    assert (row.start, row.end) == (t(0), t(350)), "one interval, first failure to success"
    await feed(p, "sbc-a", "FFFFFF", start=400)
    assert await p.flush(t(500)) is True
    assert (await store.load_check_snapshots())["sbc-a"].consecutive_failures == 6, (
        "a clean stop writes what waited")


# --- restart -------------------------------------------------------------------------


async def test_a_restart_resumes_down_and_closes_the_same_interval(tmp_path: Path) -> None:
    path = tmp_path / "monitord.db"
    async with SqliteStore(path) as first_run:
        await first_run.start_run(t(-1))
        p = build(first_run)
        await feed(p, "sbc-a", "FFFFFF")  # DOWN since t=0, confirmed at t=40
        (opened,) = await first_run.downtimes(level="check")

    async with SqliteStore(path) as second_run:
        await second_run.start_run(t(120))
        snapshots = await second_run.load_check_snapshots()
        open_services = {
            d.name: d.start for d in await second_run.downtimes(level="service") if d.end is None
        }
        assert snapshots["sbc-a"].state is D and snapshots["sbc-a"].downtime_start == t(0)
        assert open_services == {"any-ab": t(0)}

        p = build(second_run, snapshots=snapshots, open_services=open_services)
        await p.resume(t(120))
        # the sixth failure only moved the count and waited for a heartbeat the crash
        # never reached: the interval is whole, the count is that of the last write
        assert p.snapshot("sbc-a").state is D and p.snapshot("sbc-a").consecutive_failures == 5
        assert p.tracker.is_down("any-ab") and p.tracker.down_since("any-ab") == t(0)
        assert [(d.id, d.end) for d in await second_run.downtimes()] == [
            (opened.id, None),
            (opened.id + 1, None),
        ], "reconcile neither closes nor duplicates what was open"

        outcome = await p.observe("sbc-a", t(130), ok(), 0.5)

        assert [type(e) for e in outcome.check_events] == [DowntimeClosed, AlertResolved]
        check_row, service_row = await second_run.downtimes()
        assert (check_row.id, check_row.start, check_row.end) == (opened.id, t(0), t(130))
        assert (check_row.confirmed_at, check_row.detail) == (t(40), "sbc-a: no answer at +0s")
        assert (service_row.name, service_row.start, service_row.end) == ("any-ab", t(0), t(130))
        assert [g.cause for g in await second_run.gaps()] == ["unclean_shutdown"]


async def test_a_restart_mid_streak_keeps_counting_from_the_first_failure(tmp_path: Path) -> None:
    path = tmp_path / "monitord.db"
    async with SqliteStore(path) as first_run:
        await feed(build(first_run), "sbc-a", "FFF")  # ALERTING, 3 failures
    async with SqliteStore(path) as second_run:
        p = build(second_run, snapshots=await second_run.load_check_snapshots())
        assert p.snapshot("sbc-a").state is A
        await feed(p, "sbc-a", "FF", start=30)
        (row,) = await second_run.downtimes(level="check")
        assert (row.start, row.confirmed_at) == (t(0), t(40))
        assert await second_run.episodes() == []


LATE_CONFIRMATION = """
checks:
  - {name: sbc-a, type: sip_options, target: "sip:192.0.2.1", alert_after: 1, down_after: 1}
  - {name: sbc-b, type: sip_options, target: "sip:192.0.2.2", interval: 60s}
  - {name: sbc-c, type: sip_options, target: "sip:192.0.2.3", alert_after: 1, down_after: 1}
services:
  - {name: two-of-abc, checks: [sbc-a, sbc-b, sbc-c], down_when: {at_least: 2}}
"""


async def test_a_late_revealed_past_interval_leaves_the_open_service_interval_alone(
    store: RecordingStore,
) -> None:
    """sbc-a down [10, 20) and again from 30 with sbc-c: the service is down from 30. Then
    sbc-b, probed every minute, confirms a streak that began at 5: the service was also down
    [10, 20), which must be added without touching the interval open since 30."""
    p = build(store, config(LATE_CONFIRMATION))
    await p.observe("sbc-a", t(10), fail(), 0.5)
    await p.observe("sbc-a", t(20), ok(), 0.5)
    await p.observe("sbc-a", t(30), fail(), 0.5)
    await p.observe("sbc-c", t(30), fail(), 0.5)
    for i in range(5):
        outcome = await p.observe("sbc-b", t(5 + 60 * i), fail(), 0.5)
    assert outcome.service_events == (
        ServiceDowntimeRecorded("two-of-abc", t(10), t(20), "timeout", "check sbc-b: no answer within 2s"),
    )
    assert p.tracker.down_since("two-of-abc") == t(30)

    rows = await store.downtimes(level="service")
    assert [(r.start, r.end) for r in rows] == [(t(10), t(20)), (t(30), None)]


async def test_a_quiet_probe_during_another_checks_store_commit_is_published_after_it(
    store: RecordingStore,
) -> None:
    """Quiet steps skip the lock only while nobody holds it: the stream keeps step order
    even when a step with news is waiting for the store."""
    sink = RecordingSink(store)
    p = build(store, sinks=[sink])
    await feed(p, "sbc-a", "FFFF", start=0)  # one failure short of down
    gate = asyncio.Event()
    commit = store.commit

    async def slow_commit(batch: Batch) -> CommitReceipt:
        await gate.wait()
        return await commit(batch)

    store.commit = slow_commit  # type: ignore[method-assign]
    down = asyncio.create_task(p.observe("sbc-a", t(40), fail(), 0.5))  # opens a downtime
    await asyncio.sleep(0.01)
    quiet = asyncio.create_task(p.observe("sbc-b", t(41), ok(), 0.5))
    await asyncio.sleep(0.01)
    assert not quiet.done(), "a quiet step went ahead of a commit in flight"
    gate.set()
    await asyncio.gather(down, quiet)
    last_two = [c.probe.check.name for c in sink.outcomes[-2:] if c.probe is not None]
    assert last_two == ["sbc-a", "sbc-b"]
    assert sink.outcomes[-1].events == () and sink.outcomes[-1].quiet
    assert any(isinstance(e, DowntimeOpened) for e in sink.outcomes[-2].events)


async def test_quiet_steps_reach_only_sinks_that_follow_probes(store: RecordingStore) -> None:
    class EventsOnly(RecordingSink):
        QUIET = False

    every, events_only = RecordingSink(store), EventsOnly(store)
    p = build(store, sinks=[every, events_only])
    await feed(p, "sbc-a", "..F", start=0)
    assert len(every.outcomes) == 3
    # the failure changed the check's state (UP -> FAILING): not quiet, though no event
    assert [c.probe.after.state for c in events_only.outcomes if c.probe] == [F]
