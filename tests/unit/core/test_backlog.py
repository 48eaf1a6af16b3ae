"""The write backlog: order kept, snapshot-only commits compacted, the bound honoured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitord.core.backlog import WriteBacklog
from monitord.core.events import AlertRaised, CheckSnapshot, CheckState
from monitord.storage.interface import Batch, CheckCommit, EventCommit
from monitord.storage.records import StandaloneEvent

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def snap(check: str, failures: int) -> CheckSnapshot:
    return CheckSnapshot(check, CheckState.FAILING if failures else CheckState.UP, failures, 0,
                         T0 if failures else None, "timeout" if failures else None, "", None,
                         T0 + timedelta(seconds=failures))


def step(check: str, n: int, event: bool) -> Batch:
    events = (AlertRaised(check, T0, T0, n, "timeout", ""),) if event else ()
    return Batch((CheckCommit(snap(check, n), events),), T0 + timedelta(seconds=n))


def apply(batches: list[Batch]) -> tuple[dict[str, CheckSnapshot], list[object]]:
    """What a store would hold after these batches: last snapshot per check, events in order."""
    snaps: dict[str, CheckSnapshot] = {}
    events: list[object] = []
    for b in batches:
        for e in b.entries:
            assert isinstance(e, CheckCommit)
            snaps[e.snapshot.check] = e.snapshot
            events.extend(e.events)
    return snaps, events


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.booleans(), st.booleans()), max_size=60),
       st.integers(1, 7))
def test_what_the_backlog_writes_equals_what_was_queued(
    steps: list[tuple[str, bool, bool]], write_size: int
) -> None:
    """Any interleaving of appends and partial writes ends with the same record as writing
    every batch as it came: compaction only ever drops a snapshot a later one replaces."""
    backlog = WriteBacklog(10_000)
    queued: list[Batch] = []
    written: list[Batch] = []
    for n, (check, event, write_now) in enumerate(steps):
        batch = step(check, n, event)
        queued.append(batch)
        assert backlog.append(batch)
        if write_now and backlog:
            out = backlog.peek(write_size)
            backlog.done(out)
            written.append(out)
    while backlog:
        out = backlog.peek(write_size)
        backlog.done(out)
        written.append(out)
    assert apply(written) == apply(queued)
    assert sum(len(b.entries) for b in written) <= len(queued)


def test_a_failing_check_costs_one_entry_however_long_the_store_is_away() -> None:
    backlog = WriteBacklog(10)
    for n in range(1000):
        assert backlog.append(step("sbc", n + 1, event=False))
    assert len(backlog) == 1
    [entry] = backlog.peek().entries
    assert isinstance(entry, CheckCommit) and entry.snapshot.consecutive_failures == 1000


def test_an_event_pins_its_place_and_the_bound_refuses_whole_batches() -> None:
    backlog = WriteBacklog(3)
    assert backlog.append(step("a", 1, event=False))
    assert backlog.append(step("a", 2, event=True))  # events are never folded away
    assert backlog.append(step("a", 3, event=False))  # after an event: a new entry
    assert len(backlog) == 3
    reboot = StandaloneEvent("reboot", "check", "a", T0, {}, key="k")
    assert not backlog.append(Batch((EventCommit((reboot,)),), T0))  # full: nothing queued
    assert len(backlog) == 3
    with pytest.raises(ValueError, match="needs its time"):
        backlog.append(Batch((EventCommit((reboot,)),)))
