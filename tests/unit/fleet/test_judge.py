"""The judge's pure parts: when a tenure counts as fresh, each location's evidence, what the
sinks hear of a judged change, and how its lag is measured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, Counter, generate_latest

from monitord.core.events import (
    AlertRaised,
    AlertResolved,
    DowntimeClosed,
    DowntimeOpened,
    ServiceDowntimeOpened,
    ServiceDowntimeRecorded,
)
from monitord.core.intervals import Interval
from monitord.fleet.judge import Subject, _lag_of, assemble, events_of, tenure_span
from monitord.fleet.quorum import OPEN_END, JudgedClosed, JudgedOpened, JudgedPast, Recorded
from monitord.http.fleet import Labelled
from monitord.storage.postgresql.coordination import Tenure
from monitord.storage.postgresql.judged import JudgedWrite
from monitord.storage.records import EvidenceRecord

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BRIDGE = timedelta(seconds=6)


def t(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def tenure(until: float | None = None) -> Tenure:
    return Tenure("ams1", "u", 1, "a", t(0), None if until is None else t(until), None, None)


def test_a_tenure_is_fresh_while_its_holder_lives_and_for_the_bridge_after_it_died() -> None:
    assert tenure_span(tenure(50), False, None, t(100), BRIDGE) == Interval(t(0), t(50))
    assert tenure_span(tenure(), True, t(99), t(100), BRIDGE) == Interval(t(0), OPEN_END)
    # dead at 95 (last beat): a taker may still come until 101, so undecided till then
    assert tenure_span(tenure(), False, t(95), t(100), BRIDGE) == Interval(t(0), OPEN_END)
    assert tenure_span(tenure(), False, t(95), t(101), BRIDGE) == Interval(t(0), t(95))


def row(loc: str, start: float, end: float | None, confirmed: float | None = None,
        name: str = "c1") -> EvidenceRecord:
    return EvidenceRecord(loc, "check", name, t(start), None if end is None else t(end),
                          "timeout", "silent", None if confirmed is None else t(confirmed), None)


def test_each_location_gets_its_own_evidence_and_freshness() -> None:
    s = Subject("check", "c1", 2, "u")
    spans = {("ams1", "u"): [Interval(t(0), t(10)), Interval(t(13), OPEN_END)]}
    rows = {("ams1", "check", "c1"): [row("ams1", 5, None)]}
    ams1, fra1 = assemble(s, ["ams1", "fra1"], spans, rows, BRIDGE)
    assert ams1.down == (Interval(t(5), OPEN_END),)
    assert ams1.watched == (Interval(t(0), OPEN_END),)  # a 3 s hand-over is bridged
    assert fra1.down == () and fra1.watched == ()


def test_sinks_hear_a_judged_check_as_a_daemon_would_tell_it() -> None:
    opened = JudgedWrite("check", "c1", JudgedOpened(t(5)), "timeout", "ams1: ...")
    assert events_of(opened, True, t(9)) == [
        AlertRaised("c1", t(9), t(5), 0, "timeout", "ams1: ..."),
        DowntimeOpened("c1", t(5), t(9), "timeout", "ams1: ...")]
    assert events_of(opened, False, t(9)) == []  # an earlier start of one already announced
    closed = JudgedWrite("check", "c1", JudgedClosed(t(5), t(20), "recovered"), "timeout", "")
    assert events_of(closed, False, t(21)) == [
        DowntimeClosed("c1", t(5), t(20), "timeout", "recovered"),
        AlertResolved("c1", t(20), t(5))]
    past = JudgedWrite("service", "pbx", JudgedPast(t(1), t(2), "recovered"), "x", "y")
    assert events_of(past, True, t(30)) == [ServiceDowntimeRecorded("pbx", t(1), t(2), "x", "y")]
    svc = JudgedWrite("service", "pbx", JudgedOpened(t(1)), "x", "y")
    assert events_of(svc, False, t(30)) == [ServiceDowntimeOpened("pbx", t(1), "x", "y")]


def test_lag_runs_from_the_deciding_probe() -> None:
    rows = [row("ams1", 0, None, confirmed=4), row("fra1", 2, None, confirmed=6)]
    # at_least 2: the judged interval is decided by the second confirmation, at 6
    assert _lag_of(JudgedOpened(t(2)), Recorded(), rows, 2, t(7.5)) == 1.5
    assert _lag_of(JudgedOpened(t(2)), Recorded(t(3)), rows, 2, t(7.5)) is None
    assert _lag_of(JudgedClosed(t(2), t(20), "recovered"), Recorded(t(2)), rows, 2, t(21)) == 1.0
    assert _lag_of(JudgedClosed(t(2), t(20), "unmonitored"), Recorded(t(2)), rows, 2, t(21)) is None


def test_every_exported_series_names_its_location_and_site() -> None:
    registry = CollectorRegistry()
    Counter("probes", "Probes.", ["check"], registry=registry).labels("c1").inc()
    text = generate_latest(Labelled(registry, {"location": "ams1", "site": "noc",
                                               "check": "not-this"})).decode()
    assert 'probes_total{check="c1",location="ams1",site="noc"} 1.0' in text
