"""Time nobody watched (issue 12 item 4): coverage, and verdicts that never rest on it.

October 2026 in Amsterdam is 745 h = 2,682,000 s; a 99.9 % monthly target
allows 2,682 s. With `unmonitored: unknown` (the default) the figure covers
the watched time, and the verdict is decided only if it holds with all the
unwatched time down (then met) or fails with all of it up (then not met).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest

from monitord.sla.availability import Downtime, Gap
from monitord.sla.config import MaintenanceConfig, SlaPolicy
from monitord.sla.engine import SlaSetup, compute, period_for
from monitord.sla.runtime import coverage_gaps
from monitord.storage.records import RunRecord

OCT = datetime(2026, 9, 30, 22, tzinfo=UTC)  # 1 Oct 00:00 CEST
MONTH = 2_682_000
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _report(downtime: int, gap: int, **policy: Any) -> Any:
    p = SlaPolicy.model_validate({"name": "p", "target_percent": 99.9, **policy})
    setup = SlaSetup({"p": p}, {}, MaintenanceConfig())
    start = OCT + timedelta(days=3)
    downs = [Downtime(start, start + timedelta(seconds=downtime))] if downtime else []
    holes = [Gap(OCT + timedelta(days=9), OCT + timedelta(days=9, seconds=gap), "unclean_shutdown")]
    return compute(setup, service="s", policy=p, period=period_for(p, "2026-10"), now=NOW,
                   downtimes=downs, gaps=holes if gap else [])


@pytest.mark.parametrize(
    ("downtime", "gap", "met", "verdict"),
    [
        # 1,000 + 1,000 unwatched = 2,000 <= 2,682 even if all down: met
        (1_000, 1_000, True, "met"),
        # 1,000 + 10,000 > 2,682 if all down, 1,000 <= 2,682 if all up: undetermined
        (1_000, 10_000, None, "undetermined"),
        # 3,000 > 2,682 even if the 100 unwatched seconds were up: not met
        (3_000, 100, False, "not_met"),
        # nothing unwatched: decided as always
        (2_682, 0, True, "met"),
    ],
)
def test_verdict_is_decided_only_when_it_holds_either_way(
    downtime: int, gap: int, met: bool | None, verdict: str
) -> None:
    r = _report(downtime, gap)
    assert (r.met, r.verdict, r.availability_met) == (met, verdict, met)
    assert r.unmonitored_seconds == gap
    assert r.measured_seconds == MONTH - gap
    assert r.coverage_percent == Fraction(MONTH - gap, MONTH) * 100
    assert r.availability == Fraction(MONTH - gap - downtime, MONTH - gap) * 100
    if gap:
        assert r.availability_bounds == (
            Fraction(MONTH - downtime - gap, MONTH) * 100, Fraction(MONTH - downtime, MONTH) * 100
        )


def test_a_policy_that_says_how_to_count_it_is_decided() -> None:
    # the same undetermined case, counted as up (the contract's word): met on 1,000 s
    r = _report(1_000, 10_000, unmonitored="up")
    assert (r.met, r.measured_seconds, r.availability_bounds) == (True, MONTH, None)
    r = _report(1_000, 10_000, unmonitored="down")
    assert (r.met, r.downtime_seconds, r.unmonitored_seconds) == (False, 1_000, 10_000)


def test_credit_is_a_range_while_it_depends_on_unwatched_time() -> None:
    # VIOMS: 5 % per full point below 99.6 %. 20,000 s down = 99.2543 % if the
    # 30,000 unwatched s were up (0 full points... 0.34 below: 0 %), 98.1357 % if
    # down (1.46 below: 5 %)
    vioms = {"credits": {"type": "linear", "threshold_percent": 99.6, "percent_per_step": 5}}
    r = _report(20_000, 30_000, **vioms)
    assert r.credit_percent is None and r.credit_bounds == (0, 5)
    r = _report(20_000, 30_000, unmonitored="up", **vioms)
    assert r.credit_percent == 0 and r.credit_bounds is None


def test_an_interruption_limit_is_open_while_a_gap_could_hide_one() -> None:
    r = _report(100, 60, max_interruptions=3)
    assert (r.interruptions, r.interruptions_met, r.availability_met, r.met) == (1, None, True, None)
    r = _report(100, 60, max_interruptions=3, unmonitored="up")
    assert r.interruptions_met is True and r.met is True


def test_nothing_watched_has_no_availability() -> None:
    p = SlaPolicy.model_validate({"name": "p", "target_percent": 99.9})
    setup = SlaSetup({"p": p}, {}, MaintenanceConfig())
    whole = Gap(OCT - timedelta(days=1), NOW, "before_first_start")
    r = compute(setup, service="s", policy=p, period=period_for(p, "2026-10"), now=NOW,
                downtimes=[], gaps=[whole])
    assert r.complete and r.availability is None and r.coverage_percent == 0
    assert (r.met, r.verdict, r.unmonitored_seconds) == (None, "undetermined", MONTH)


def _run(start: datetime, last: datetime, stopped: datetime | None) -> RunRecord:
    return RunRecord(1, start, last, stopped)


def test_runs_imply_the_gaps_no_gap_row_records() -> None:
    t = datetime(2026, 10, 10, tzinfo=UTC)
    since, now = OCT, datetime(2026, 10, 20, tzinfo=UTC)
    assert coverage_gaps([], since, now, live=True) == ([Gap(since, now, "never_monitored")], now)
    # clean stop on the 15th: unmonitored since
    stop = t + timedelta(days=5)
    gaps, reach = coverage_gaps([_run(t, stop, stop)], since, now, live=False)
    assert gaps == [Gap(since, t, "before_first_start"), Gap(stop, now, "not_running")]
    assert reach == now
    # no stop: live to now for the daemon itself, up to its last heartbeat for a reader
    beat = t + timedelta(days=2)
    assert coverage_gaps([_run(t, beat, None)], since, now, live=True)[1] == now
    gaps, reach = coverage_gaps([_run(t, beat, None)], since, now, live=False)
    assert gaps == [Gap(since, t, "before_first_start")] and reach == beat
