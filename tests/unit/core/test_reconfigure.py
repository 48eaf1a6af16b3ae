"""A config reload through the pipeline: kept checks keep their state, removed ones end their
intervals as removed (never as recovered), services follow their new members."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitord.config import Config, effective_checks, parse_config
from monitord.core.events import AlertResolved, CheckState, DowntimeClosed, ServiceDowntimeClosed
from monitord.core.pipeline import Pipeline, ResumeState
from monitord.core.stream import Reconfigured
from monitord.storage.sqlite import SqliteStore
from probes.base import FailureReason, ProbeResult

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)

BEFORE = """
checks:
  - {name: a, type: sip_options, target: "sip:127.0.0.1:5061"}
  - {name: b, type: sip_options, target: "sip:127.0.0.1:5062"}
  - {name: c, type: sip_options, target: "sip:127.0.0.1:5063"}
services:
  - {name: ab, checks: [a, b]}
  - {name: c-only, checks: [c]}
"""
AFTER = """
checks:
  - {name: a, type: sip_options, target: "sip:127.0.0.1:5061", down_after: 7, interval: 30s}
  - {name: c, type: sip_options, target: "sip:127.0.0.1:9999"}
  - {name: d, type: sip_options, target: "sip:127.0.0.1:5064"}
services:
  - {name: ab, checks: [a, d]}
"""


def t(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def cfg(text: str) -> Config:
    return parse_config(text, env={})


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with SqliteStore(tmp_path / "m.db") as s:
        await s.start_run(t(-1))
        yield s


async def test_a_reload_keeps_what_stays_and_retires_what_goes(store: SqliteStore) -> None:
    before = cfg(BEFORE)
    p = Pipeline(effective_checks(before), before.services, store, ResumeState(), [])
    fail = ProbeResult.failure(FailureReason.TIMEOUT, "no answer")
    for i in range(5):  # a and b DOWN since 0, c DOWN since 1
        for name, off in (("a", 0), ("b", 0), ("c", 1)):
            await p.observe(name, t(10 * i + off), fail, 0.5)
    await p.observe("a", t(60), fail, 0.5)  # a: 6 failures

    after = cfg(AFTER)
    done = await p.reconfigure(effective_checks(after), after.services, after.maintenance, t(100))

    [change] = [e for e in done.events if isinstance(e, Reconfigured)]
    assert (change.added, change.removed, change.changed) == (("c", "d"), ("b", "c"), ("a",))
    closed = {e.check: e for e in done.events if isinstance(e, DowntimeClosed)}
    assert {n: (e.end, e.cause) for n, e in closed.items()} == {
        "b": (t(100), "removed"), "c": (t(100), "removed")}
    assert {e.check for e in done.events if isinstance(e, AlertResolved)} == {"b", "c"}
    services = [e for e in done.events if isinstance(e, ServiceDowntimeClosed)]
    assert [(e.service, e.cause) for e in services] == [("c-only", "removed")]
    # a kept its streak (and the new down_after of 7 only matters for a new streak)
    assert p.snapshot("a").state is CheckState.DOWN and p.snapshot("a").consecutive_failures == 6
    assert p.snapshot("c").state is CheckState.UP, "a new target: a new check"
    assert p.tracker.is_down("ab"), "still down: a, one of its members, is"

    rows = {(r.level, r.name): (r.start, r.end) for r in await store.downtimes()}
    assert rows[("check", "a")] == (t(0), None)
    assert rows[("check", "b")] == (t(0), t(100))
    assert rows[("check", "c")] == (t(1), t(100))
    assert rows[("service", "ab")] == (t(0), None)
    assert rows[("service", "c-only")] == (t(1), t(100))
    snapshots = await store.load_check_snapshots()
    assert snapshots["b"].state is CheckState.UP, "a removed check's stored state is reset"
    [logged] = await store.events(kind="monitoring_changed")
    assert logged.body == {"added": ["c", "d"], "removed": ["b", "c"], "changed": ["a"]}

    await p.observe("a", t(110), ProbeResult.success(0.01), 0.5)
    rows = {(r.level, r.name): (r.start, r.end) for r in await store.downtimes()}
    assert rows[("check", "a")] == (t(0), t(110)), "a's outage ends at its first success"
    assert rows[("service", "ab")] == (t(0), t(110))
