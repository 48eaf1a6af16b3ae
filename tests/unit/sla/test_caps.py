"""Maintenance caps (issue 16 item 3, XTIUM §5): beyond the monthly cap is downtime, latest first.

October 2026 (745 h = 2,682,000 s), maintenance excluded, a 4 h monthly cap.
Two announced windows: Mon 5 Oct 01:00-03:00 (2 h) and Mon 19 Oct 01:00-04:00
(3 h): 5 h of maintenance. The first 4 h stay excluded; the last hour of the
month's maintenance, 19 Oct 03:00-04:00 CEST, is counted as downtime:
measured = 2,682,000 - 14,400 = 2,667,600 s, downtime 3,600 s,
A = 2,664,000 / 2,667,600.
"""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

from monitord.sla.config import MaintenanceConfig, SlaPolicy
from monitord.sla.engine import SlaSetup, compute, compute_reference, period_for

NOW = datetime(2027, 1, 1, tzinfo=UTC)


def _setup(cap: str | None) -> tuple[SlaSetup, SlaPolicy]:
    policy = SlaPolicy.model_validate(
        {"name": "xtium", "target_percent": 99.95, "maintenance_cap": cap}
    )
    windows = [
        {"name": "w1", "start": "2026-10-05T01:00:00+02:00", "end": "2026-10-05T03:00:00+02:00",
         "announced_at": "2026-09-01T00:00:00+02:00"},
        {"name": "w2", "start": "2026-10-19T01:00:00+02:00", "end": "2026-10-19T04:00:00+02:00",
         "announced_at": "2026-09-01T00:00:00+02:00"},
    ]
    return SlaSetup({"xtium": policy}, {}, MaintenanceConfig.model_validate({"windows": windows})), policy


def test_five_hours_under_a_four_hour_cap_count_the_latest_hour() -> None:
    setup, policy = _setup("4h")
    args = dict(service="s", policy=policy, period=period_for(policy, "2026-10"), now=NOW,
                downtimes=[])
    r = compute(setup, **args)  # type: ignore[arg-type]
    assert r.maintenance_seconds == 14_400
    assert r.downtime_seconds == 3_600
    assert r.measured_seconds == 2_667_600
    assert r.availability == Fraction(2_664_000 * 100, 2_667_600)
    refused = [i for i in r.intervals if i.kind == "maintenance_not_honoured"]
    assert [(i.start.isoformat(), i.end.isoformat()) for i in refused] == [
        ("2026-10-19T01:00:00+00:00", "2026-10-19T02:00:00+00:00")
    ]
    assert "beyond the 4h monthly maintenance cap" in refused[0].note
    (down,) = [i for i in r.intervals if i.kind == "downtime"]
    assert (down.start, down.counted_seconds) == (refused[0].start, 3_600)
    assert down.reason == "maintenance beyond the 4h monthly cap"
    assert compute_reference(setup, **args).availability == r.availability  # type: ignore[arg-type]


def test_under_the_cap_nothing_changes() -> None:
    capped, policy = _setup("5h")
    free, free_policy = _setup(None)
    a = compute(capped, service="s", policy=policy, period=period_for(policy, "2026-10"),
                now=NOW, downtimes=[])
    b = compute(free, service="s", policy=free_policy, period=period_for(free_policy, "2026-10"),
                now=NOW, downtimes=[])
    assert (a.maintenance_seconds, a.downtime_seconds, a.availability) == (
        b.maintenance_seconds, b.downtime_seconds, b.availability) == (18_000, 0, 100)
