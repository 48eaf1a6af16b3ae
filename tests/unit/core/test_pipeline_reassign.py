"""Pipeline.reassign: a fleet agent's share changes (a hand-over), and nothing ends.

The store here is a test double that keeps the batches it is given (the
fleet's real store, with fencing, is tested in tests/unit/storage/); what
matters is what the pipeline decides: adopted checks resume their holder's
state, handed-over ones leave without an interval closing, and no event or
row is invented by the hand-over itself.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitord.config import effective_checks, parse_config
from monitord.core.events import (
    CheckSnapshot,
    CheckState,
    DowntimeClosed,
    DowntimeOpened,
    ServiceDowntimeClosed,
)
from monitord.core.pipeline import Pipeline, ResumeState
from monitord.core.stream import Committed, Reconfigured, Resumed
from monitord.storage.interface import Batch, CommitReceipt
from monitord.storage.records import GapRecord
from probes.base import FailureReason, ProbeResult

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CFG = parse_config("""
checks:
  - {name: sbc-a, type: sip_options, target: "sip:192.0.2.1"}
  - {name: sbc-b, type: sip_options, target: "sip:192.0.2.2"}
services:
  - {name: pbx, checks: [sbc-a, sbc-b], down_when: any}
""", env={})
CHECKS = {c.name: c for c in effective_checks(CFG)}


def t(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


class Batches:
    """Test double for the store: keeps every batch in order, fails nothing."""

    def __init__(self) -> None:
        self.batches: list[Batch] = []

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def start_run(self, now: datetime) -> GapRecord | None:
        return None

    async def heartbeat(self, now: datetime) -> None: ...

    async def stop_run(self, now: datetime) -> None: ...

    async def commit(self, batch: Batch) -> CommitReceipt:
        self.batches.append(batch)
        return CommitReceipt()


class Heard:
    def __init__(self) -> None:
        self.all: list[Committed] = []

    def consume(self, c: Committed) -> None:
        self.all.append(c)


def down_since(name: str, start: datetime) -> CheckSnapshot:
    return CheckSnapshot(name, CheckState.DOWN, 7, 0, start, "timeout", "no answer", start,
                         start + timedelta(seconds=60))


async def test_adopted_checks_resume_their_holders_open_interval_and_close_it_once() -> None:
    store, heard = Batches(), Heard()
    p = Pipeline([], [], store, ResumeState(), [heard])
    c = await p.reassign([CHECKS["sbc-a"], CHECKS["sbc-b"]], CFG.services,
                         {"sbc-a": down_since("sbc-a", t(0))}, {"pbx": t(0)}, t(70))
    assert store.batches == []  # a hand-over writes nothing by itself
    reconf = next(e for e in c.events if isinstance(e, Reconfigured))
    assert set(reconf.added) == {"sbc-a", "sbc-b"} and reconf.removed == ()
    resumed = next(e for e in c.events if isinstance(e, Resumed))
    assert resumed.snapshots["sbc-a"].state is CheckState.DOWN
    assert resumed.open_services == {"pbx": t(0)}
    assert p.snapshot("sbc-a").consecutive_failures == 7
    assert p.snapshot("sbc-b") == CheckSnapshot.initial("sbc-b")

    failed = await p.observe("sbc-a", t(71), ProbeResult.failure(FailureReason.TIMEOUT, "x"), 1.0)
    assert failed.check_events == ()  # still the same outage: no second open
    assert p.snapshot("sbc-a").consecutive_failures == 8
    back = await p.observe("sbc-a", t(72), ProbeResult.success(0.01), 0.01)
    assert back.check_events == (DowntimeClosed("sbc-a", t(0), t(72), "timeout"),
                                 *back.check_events[1:])
    assert back.service_events == (ServiceDowntimeClosed("pbx", t(0), t(72)),)
    assert not any(isinstance(e, DowntimeOpened) for c in heard.all for e in c.events)


async def test_handed_over_checks_leave_as_they_are() -> None:
    store, heard = Batches(), Heard()
    p = Pipeline([], [], store, ResumeState(), [heard])
    await p.reassign([CHECKS["sbc-a"], CHECKS["sbc-b"]], CFG.services,
                     {"sbc-a": down_since("sbc-a", t(0))}, {"pbx": t(0)}, t(70))
    c = await p.reassign([CHECKS["sbc-b"]], [], {}, {}, t(80))
    reconf = next(e for e in c.events if isinstance(e, Reconfigured))
    assert reconf.removed == ("sbc-a",) and reconf.added == ()
    assert c.check_events == () and c.service_events == ()  # nothing ends: the taker resumes
    assert store.batches == []
    assert list(p.checks) == ["sbc-b"]
