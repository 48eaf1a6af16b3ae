"""ServiceTracker: check downtime events in, service downtime events out.

Written the gatus way: feed one event at a time and assert exactly what the
service did after each step (nothing, opened at START, closed at START-END).
Times are seconds after T0; check intervals are backdated to their first
failed probe (sla-rules §1), so `start` is usually well before `confirmed_at`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from monitord.config.models import ServiceConfig
from monitord.core.events import (
    AlertRaised,
    AlertResolved,
    CheckEvent,
    DowntimeClosed,
    DowntimeOpened,
    EpisodeRecorded,
    ServiceDowntimeClosed,
    ServiceDowntimeOpened,
    ServiceDowntimeRecorded,
)
from monitord.core.intervals import Interval, k_of_n
from monitord.core.services import OpenCheckDowntime, ServiceTracker

T0 = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def service(name: str, checks: list[str], down_when: Any = "any") -> ServiceConfig:
    return ServiceConfig.model_validate({"name": name, "checks": checks, "down_when": down_when})


def tracker(
    *services: ServiceConfig,
    open_checks: dict[str, OpenCheckDowntime] | None = None,
    open_services: dict[str, datetime] | None = None,
) -> ServiceTracker:
    return ServiceTracker(list(services), open_checks or {}, open_services or {})


def opened(
    check: str, start: float, confirmed: float, reason: str = "timeout", detail: str = ""
) -> DowntimeOpened:
    return DowntimeOpened(check, t(start), t(confirmed), reason, detail or f"{check} silent")


def closed(check: str, start: float, end: float, reason: str = "timeout") -> DowntimeClosed:
    return DowntimeClosed(check, t(start), t(end), reason)


def svc_open(name: str, start: float, reason: str, detail: str) -> ServiceDowntimeOpened:
    return ServiceDowntimeOpened(name, t(start), reason, detail)


def svc_closed(name: str, start: float, end: float) -> ServiceDowntimeClosed:
    return ServiceDowntimeClosed(name, t(start), t(end))


# --- any ------------------------------------------------------------------------


def test_any_opens_at_first_check_start_and_closes_when_the_last_recovers() -> None:
    tr = tracker(service("pbx", ["sip", "reg"]))
    assert not tr.is_down("pbx")

    assert tr.on_check_events([opened("sip", 0, 40, detail="no answer in 3s")]) == [
        svc_open("pbx", 0, "timeout", "check sip: no answer in 3s")
    ]
    assert tr.is_down("pbx")
    assert tr.down_since("pbx") == t(0)
    assert tr.down_checks("pbx") == ["sip"]

    assert tr.on_check_events([opened("reg", 20, 60, reason="sip_status")]) == []
    assert tr.down_checks("pbx") == ["sip", "reg"]
    assert tr.on_check_events([closed("sip", 0, 100)]) == []
    assert tr.is_down("pbx")
    assert tr.down_checks("pbx") == ["reg"]

    assert tr.on_check_events([closed("reg", 20, 130, reason="sip_status")]) == [
        svc_closed("pbx", 0, 130)
    ]
    assert not tr.is_down("pbx")
    assert tr.down_since("pbx") is None
    assert tr.down_checks("pbx") == []


def test_any_with_separate_outages_gives_separate_intervals() -> None:
    tr = tracker(service("pbx", ["sip", "reg"]))
    assert tr.on_check_events([opened("sip", 0, 40)]) == [
        svc_open("pbx", 0, "timeout", "check sip: sip silent")
    ]
    assert tr.on_check_events([closed("sip", 0, 50)]) == [svc_closed("pbx", 0, 50)]
    assert tr.on_check_events([opened("reg", 60, 100)]) == [
        svc_open("pbx", 60, "timeout", "check reg: reg silent")
    ]
    assert tr.on_check_events([closed("reg", 60, 110)]) == [svc_closed("pbx", 60, 110)]


def test_detail_without_text_names_the_check() -> None:
    tr = tracker(service("pbx", ["sip"]))
    event = DowntimeOpened("sip", t(0), t(40), "refused", "")
    assert tr.on_check_events([event]) == [svc_open("pbx", 0, "refused", "check sip down")]


def test_reason_and_detail_come_from_the_earliest_down_check() -> None:
    tr = tracker(service("pbx", ["a", "b"], "all"))
    assert tr.on_check_events([opened("b", 30, 70, reason="sip_status", detail="503")]) == []
    # a was confirmed later but failed first: the outage is explained by a
    assert tr.on_check_events([opened("a", 10, 90, reason="timeout", detail="no reply")]) == [
        svc_open("pbx", 30, "timeout", "check a: no reply")
    ]


# --- all and at_least ---------------------------------------------------------


def test_all_is_down_only_while_every_check_is_down() -> None:
    tr = tracker(service("pbx", ["a", "b"], "all"))
    assert tr.on_check_events([opened("a", 0, 40)]) == []
    assert not tr.is_down("pbx")
    assert tr.down_checks("pbx") == ["a"]
    # b failed from 25: both down from 25 (its backdated start), not from 65
    assert tr.on_check_events([opened("b", 25, 65)]) == [
        svc_open("pbx", 25, "timeout", "check a: a silent")
    ]
    assert tr.on_check_events([closed("a", 0, 100)]) == [svc_closed("pbx", 25, 100)]
    assert tr.on_check_events([closed("b", 25, 150)]) == []
    assert not tr.is_down("pbx")


def test_at_least_two_of_three() -> None:
    tr = tracker(service("core", ["a", "b", "c"], {"at_least": 2}))
    assert tr.on_check_events([opened("c", 50, 90)]) == []
    assert tr.on_check_events([opened("a", 10, 95)]) == [
        svc_open("core", 50, "timeout", "check a: a silent")
    ]
    assert tr.on_check_events([opened("b", 70, 110)]) == []  # three down: no news
    assert tr.on_check_events([closed("c", 50, 120)]) == []  # a and b still down
    assert tr.is_down("core")
    assert tr.on_check_events([closed("a", 10, 130)]) == [svc_closed("core", 50, 130)]
    assert tr.on_check_events([closed("b", 70, 140)]) == []


def test_at_least_uses_the_kth_earliest_start() -> None:
    tr = tracker(service("core", ["a", "b", "c"], {"at_least": 2}))
    # events in a batch, as one probe round could deliver them
    events = tr.on_check_events([opened("a", 30, 70), opened("b", 5, 80), opened("c", 20, 90)])
    # when b is confirmed, a (30) is the second start; c's confirmation then shows
    # that b and c were both down from 20, so the start moves back to 20
    assert events == [
        svc_open("core", 30, "timeout", "check b: b silent"),
        svc_open("core", 20, "timeout", "check b: b silent"),
    ]
    assert tr.down_since("core") == t(20)


def test_single_check_all_behaves_like_any() -> None:
    tr = tracker(service("x", ["a"], "all"))
    assert tr.on_check_events([opened("a", 3, 43)]) == [
        svc_open("x", 3, "timeout", "check a: a silent")
    ]
    assert tr.on_check_events([closed("a", 3, 44)]) == [svc_closed("x", 3, 44)]


# --- backdated starts merge -----------------------------------------------------


def test_backdated_start_before_previous_close_reopens_the_same_interval() -> None:
    """reg failed from 40, but was only confirmed at 80, after sip recovered at 50.

    The service was in fact never up between 0 and reg's recovery: one problem,
    one interval (XTIUM §1), reopened with its original start.
    """
    tr = tracker(service("pbx", ["sip", "reg"]))
    assert tr.on_check_events([opened("sip", 0, 20)]) == [
        svc_open("pbx", 0, "timeout", "check sip: sip silent")
    ]
    assert tr.on_check_events([closed("sip", 0, 50)]) == [svc_closed("pbx", 0, 50)]
    # the evidence stays with the check that failed first
    assert tr.on_check_events([opened("reg", 40, 80)]) == [
        svc_open("pbx", 0, "timeout", "check sip: sip silent")
    ]
    assert tr.down_since("pbx") == t(0)
    assert tr.on_check_events([closed("reg", 40, 120)]) == [svc_closed("pbx", 0, 120)]


def test_start_exactly_at_previous_close_merges() -> None:
    tr = tracker(service("pbx", ["sip", "reg"]))
    tr.on_check_events([opened("sip", 0, 20), closed("sip", 0, 50)])
    assert tr.on_check_events([opened("reg", 50, 90)]) == [
        svc_open("pbx", 0, "timeout", "check sip: sip silent")
    ]


def test_start_after_previous_close_does_not_merge() -> None:
    tr = tracker(service("pbx", ["sip", "reg"]))
    tr.on_check_events([opened("sip", 0, 20), closed("sip", 0, 50)])
    later = 50.000001
    assert tr.on_check_events([opened("reg", later, 90)]) == [
        svc_open("pbx", later, "timeout", "check reg: reg silent")
    ]


def test_same_check_falling_again_in_one_batch() -> None:
    tr = tracker(service("pbx", ["sip"]))
    events = tr.on_check_events([opened("sip", 0, 20), closed("sip", 0, 30), opened("sip", 30, 60)])
    assert events == [
        svc_open("pbx", 0, "timeout", "check sip: sip silent"),
        svc_closed("pbx", 0, 30),
        svc_open("pbx", 0, "timeout", "check sip: sip silent"),
    ]


def test_later_confirmed_check_with_earlier_start_moves_service_start() -> None:
    # reg is probed every 10s and failed from 2 (confirmed at 42); sip is probed
    # every 1s and failed from 10 (confirmed at 14). Union of check downtime: [2, 100).
    tr = tracker(service("pbx", ["sip", "reg"]))
    tr.on_check_events([opened("sip", 10, 14)])
    tr.on_check_events([opened("reg", 2, 42)])
    assert tr.down_since("pbx") == t(2)
    tr.on_check_events([closed("sip", 10, 60)])
    assert tr.on_check_events([closed("reg", 2, 100)]) == [svc_closed("pbx", 2, 100)]


def test_all_counts_overlap_with_an_already_closed_check_interval() -> None:
    # a down [0, 50); b failed from 30 but was confirmed only at 70: both were down [30, 50)
    tr = tracker(service("pbx", ["a", "b"], "all"))
    tr.on_check_events([opened("a", 0, 20), closed("a", 0, 50)])
    out = tr.on_check_events([opened("b", 30, 70)])
    out += tr.on_check_events([closed("b", 30, 90)])
    assert out[-1:] == [ServiceDowntimeRecorded("pbx", t(30), t(50), "timeout", "check a: a silent")]


# --- routing --------------------------------------------------------------------


def test_a_check_in_two_services_drives_both() -> None:
    tr = tracker(service("voice", ["sip", "media"]), service("edge", ["sip", "dns"], "all"))
    assert tr.on_check_events([opened("sip", 0, 40)]) == [
        svc_open("voice", 0, "timeout", "check sip: sip silent")
    ]
    assert tr.on_check_events([opened("dns", 10, 50)]) == [
        svc_open("edge", 10, "timeout", "check sip: sip silent")
    ]
    assert tr.on_check_events([closed("sip", 0, 60)]) == [
        svc_closed("voice", 0, 60),
        svc_closed("edge", 10, 60),
    ]


def test_unrelated_checks_and_other_events_are_ignored() -> None:
    tr = tracker(service("pbx", ["sip"]))
    assert tr.on_check_events([opened("other", 0, 40), closed("other", 0, 50)]) == []
    assert (
        tr.on_check_events(
            [
                AlertRaised("sip", t(20), t(0), 3, "timeout", ""),
                AlertResolved("sip", t(30), t(0)),
                EpisodeRecorded("sip", t(0), t(30), 3, "timeout", ""),
            ]
        )
        == []
    )
    assert not tr.is_down("pbx")


def test_close_of_a_check_that_was_never_open_is_harmless() -> None:
    tr = tracker(service("pbx", ["sip"]))
    assert tr.on_check_events([closed("sip", 0, 10)]) == []
    assert not tr.is_down("pbx")


def test_service_interval_never_ends_before_it_starts() -> None:
    # all: a and b open; b's backdated start 30 is the service start. If a's close
    # is stamped before that (clock step), the interval is empty, not negative.
    tr = tracker(service("pbx", ["a", "b"], "all"))
    tr.on_check_events([opened("a", 0, 20), opened("b", 30, 60)])
    assert tr.on_check_events([closed("a", 0, 25)]) == [svc_closed("pbx", 30, 30)]


# --- resume after restart -------------------------------------------------------


def test_resume_with_consistent_state_reconciles_to_nothing() -> None:
    tr = tracker(
        service("pbx", ["sip", "reg"]),
        open_checks={"sip": OpenCheckDowntime(t(0), "timeout", "no answer")},
        open_services={"pbx": t(0)},
    )
    assert tr.reconcile(t(500)) == []
    assert tr.is_down("pbx")
    assert tr.down_since("pbx") == t(0)
    # the resumed interval closes with its persisted start
    assert tr.on_check_events([closed("sip", 0, 600)]) == [svc_closed("pbx", 0, 600)]


def test_reconcile_opens_a_service_whose_checks_are_down() -> None:
    # e.g. the service was added to the config while its check was down
    tr = tracker(
        service("pbx", ["sip"]),
        open_checks={"sip": OpenCheckDowntime(t(10), "refused", "ECONNREFUSED")},
    )
    assert not tr.is_down("pbx")
    assert tr.reconcile(t(500)) == [svc_open("pbx", 10, "refused", "check sip: ECONNREFUSED")]
    assert tr.reconcile(t(600)) == []
    assert tr.on_check_events([closed("sip", 10, 700, reason="refused")]) == [
        svc_closed("pbx", 10, 700)
    ]


def test_reconcile_closes_a_service_none_of_whose_checks_is_down() -> None:
    # the service was open at the last stop but its checks came back (or were removed)
    tr = tracker(service("pbx", ["sip"]), open_services={"pbx": t(10)})
    assert tr.is_down("pbx")
    assert tr.reconcile(t(500)) == [svc_closed("pbx", 10, 500)]
    assert not tr.is_down("pbx")


def test_reconcile_applies_a_changed_down_when() -> None:
    # pbx was "any" and open when stopped; now it is "all" and only one check is down
    tr = tracker(
        service("pbx", ["sip", "reg"], "all"),
        open_checks={"sip": OpenCheckDowntime(t(0), "timeout", "")},
        open_services={"pbx": t(0)},
    )
    assert tr.reconcile(t(300)) == [svc_closed("pbx", 0, 300)]
    assert tr.on_check_events([opened("reg", 350, 400)]) == [
        svc_open("pbx", 350, "timeout", "check sip down")
    ]


def test_open_checks_of_unknown_checks_do_not_break_resume() -> None:
    tr = tracker(
        service("pbx", ["sip"]),
        open_checks={"removed": OpenCheckDowntime(t(0), "timeout", "")},
        open_services={"gone": t(0)},
    )
    assert tr.reconcile(t(100)) == []
    assert not tr.is_down("pbx")


# --- property: `any` equals the union of the check intervals ----------------------


@st.composite
def check_histories(draw: st.DrawFn) -> tuple[int, list[list[tuple[int, int]]]]:
    """Per check, disjoint down intervals [start, end) that each lasted past the
    confirmation delay (shorter streaks are not downtime at all). Every check has the
    same delay, as with one `interval` and `down_after` for all of them."""
    delay = draw(st.integers(1, 30))
    histories = []
    for _ in range(draw(st.integers(1, 4))):
        pos, intervals = 0, []
        for _ in range(draw(st.integers(0, 4))):
            start = pos + draw(st.integers(1, 40))
            end = start + delay + draw(st.integers(1, 40))
            intervals.append((start, end))
            pos = end
        histories.append(intervals)
    return delay, histories


def replay_like_the_store(
    events: list[ServiceDowntimeOpened | ServiceDowntimeClosed],
) -> list[Interval | None]:
    """What the store keeps: an open that starts at or before the last end resumes it.
    An interval still open at the end is returned as None."""
    rows: list[tuple[datetime, datetime | None]] = []
    for ev in events:
        if isinstance(ev, ServiceDowntimeOpened):
            last_end = rows[-1][1] if rows else None
            if last_end is not None and last_end >= ev.start:
                rows[-1] = (rows[-1][0], None)
            else:
                rows.append((ev.start, None))
        else:
            assert rows and rows[-1][1] is None, "closed a service interval that was not open"
            rows[-1] = (rows[-1][0], ev.end)
    return [Interval(start, end) for start, end in rows if end is not None] + (
        [] if not rows or rows[-1][1] is not None else [None]
    )


@given(check_histories(), st.booleans())
def test_any_service_downtime_is_the_union_of_check_downtime(
    case: tuple[int, list[list[tuple[int, int]]]], closes_first: bool
) -> None:
    delay, histories = case
    names = [f"c{i}" for i in range(len(histories))]
    tr = tracker(service("svc", names))
    timeline: list[tuple[int, int, CheckEvent]] = []
    for name, intervals in zip(names, histories, strict=True):
        for start, end in intervals:
            timeline.append(
                (start + delay, 1 if closes_first else 0, opened(name, start, start + delay))
            )
            timeline.append((end, 0 if closes_first else 1, closed(name, start, end)))
    timeline.sort(key=lambda item: (item[0], item[1]))
    out: list[ServiceDowntimeOpened | ServiceDowntimeClosed] = []
    for _, _, event in timeline:
        out.extend(tr.on_check_events([event]))
    expected = k_of_n([[Interval(t(s), t(e)) for s, e in h] for h in histories], 1)
    assert replay_like_the_store(out) == expected
