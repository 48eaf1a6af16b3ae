"""Restore times (issue 16 item 2): targets per priority, clock or office hours, XTIUM §9.

Worked examples:
- XTIUM §8/§9, October 2026: three P1s of 3 h 30 m, 7 h and 9 h 15 m. 90 %
  within 4 h: 1 of 3 = 33 %: not met. 100 % within 8 h: 2 of 3: not met.
  One P1 took longer than 8 clock hours: §9's monthly fee (100 %) is due.
- VIOMS office hours Mon-Fri 09:00-17:30: a P2 opened Friday 9 Oct 18:00
  and resolved Monday 12 Oct 11:00 took 2 office hours (Mon 09:00-11:00);
  the start rule moves its clock start to Monday 09:00.
- DST-true: a P1 from Sat 24 Oct 23:30 CEST to Sun 25 Oct 07:00 CET lasted
  8 h 30 m (the clocks went back at 03:00).
"""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from monitord.sla.availability import Downtime
from monitord.sla.config import CalendarConfig, MaintenanceConfig, SlaPolicy
from monitord.sla.engine import SlaSetup, compute, period_for
from monitord.sla.render import report_to_dict

NOW = datetime(2027, 1, 1, tzinfo=UTC)
XTIUM = {
    "name": "xtium", "target_percent": 99.95, "downtime_counts": ["P1"],
    "restore": {
        "targets": [
            {"priority": "P1", "within": "4h", "share_percent": 90},
            {"priority": "P1", "within": "8h", "share_percent": 100},
            {"priority": "P2", "within": "8h", "share_percent": 90},
        ],
        "credit": {"priority": "P1", "over": "8h", "credit_percent": 100},
    },
}
OFFICE = CalendarConfig.model_validate({"name": "vioms", "hours": ["mon-fri 09:00-17:30"]})


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _run(policy_raw: dict[str, Any], downs: list[Downtime]) -> Any:
    policy = SlaPolicy.model_validate(policy_raw)
    setup = SlaSetup({policy.name: policy}, {"vioms": OFFICE}, MaintenanceConfig())
    return compute(setup, service="s", policy=policy, period=period_for(policy, "2026-10"),
                   now=NOW, downtimes=downs)


def test_three_p1s_miss_both_targets_and_earn_the_section_9_credit() -> None:
    downs = [
        Downtime(_t("2026-10-05T10:00:00+02:00"), _t("2026-10-05T13:30:00+02:00"), "P1"),  # 3h30
        Downtime(_t("2026-10-12T08:00:00+02:00"), _t("2026-10-12T15:00:00+02:00"), "P1"),  # 7h
        Downtime(_t("2026-10-20T09:00:00+02:00"), _t("2026-10-20T18:15:00+02:00"), "P1"),  # 9h15
    ]
    r = _run(XTIUM, downs)
    assert [i.restore_seconds["clock"] for i in r.incidents] == [12_600, 25_200, 33_300]
    four, eight, p2 = r.restore.targets
    assert (four.incidents, four.within, four.share, four.met) == (3, 1, Fraction(100, 3), False)
    assert (eight.within, eight.share, eight.met) == (2, Fraction(200, 3), False)
    assert (p2.incidents, p2.met) == (0, True)  # no P2: nothing to miss
    assert r.restore.met is False
    assert r.restore.credit_percent == 100
    assert r.restore.credit_due_for == (_t("2026-10-20T09:00:00+02:00"),)
    out = report_to_dict(r)
    assert out["restore"]["credit_percent"] == 100 and out["restore"]["met"] is False
    assert [t["met"] for t in out["incidents"][2]["targets"]] == [False, False]


def test_a_p2_from_friday_evening_to_monday_took_two_office_hours() -> None:
    policy = {
        "name": "vioms", "target_percent": 99.6, "calendar": "vioms",
        "restore": {"clock": "office", "start_rule": "next_working_day",
                    "targets": [{"priority": "P2", "within": "8h", "share_percent": 90}]},
    }
    down = Downtime(_t("2026-10-09T18:00:00+02:00"), _t("2026-10-12T11:00:00+02:00"), "P2")
    r = _run(policy, [down])
    (inc,) = r.incidents
    assert inc.restore_seconds["office"] == 2 * 3600
    assert inc.restore_start == _t("2026-10-12T09:00:00+02:00")  # the VIOMS start rule
    assert r.restore.targets[0].met is True
    # a P1 keeps its own start: the clock runs from Friday 18:00 in office hours too
    p1 = _run(policy, [down._replace(priority="P1")])
    assert p1.incidents[0].restore_start == down.start


def test_restore_time_is_true_across_the_dst_night() -> None:
    down = Downtime(_t("2026-10-24T23:30:00+02:00"), _t("2026-10-25T07:00:00+01:00"), "P1")
    r = _run(XTIUM, [down])
    (inc,) = r.incidents
    assert inc.restore_seconds["clock"] == 8.5 * 3600
    assert r.restore.credit_percent == 100  # 8 h 30 m > 8 h
