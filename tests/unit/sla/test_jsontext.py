"""The fleet's spliced JSON text is `json.dumps(report_to_dict(r), ensure_ascii=False)`, byte for byte.

`FleetText` encodes shared rows once and joins list texts; these compare it
with the plain encoding on the seeded 60-service fleet (every scenario, so
maintenance rows and timeline bands are shared between reports), and with
hypothesis on reports whose reasons, window names, tickets and extra columns
hold quotes, backslashes, non-ASCII and control characters (window names
cannot: the config refuses them). Also: a
problem that starts before the period keeps its members outside it.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitord.sla.availability import Downtime, Gap
from monitord.sla.config import MaintenanceConfig, SlaPolicy
from monitord.sla.engine import SlaSetup, compute, compute_many, compute_reference, period_for
from monitord.sla.jsontext import FleetText
from monitord.sla.render import report_to_dict, write_json
from monitord.sla.report import Report
from tests.unit.sla.fleetdigest import SCENARIOS, loaded_sample


def _plain(r: Report) -> str:
    return json.dumps(report_to_dict(r), ensure_ascii=False)


def test_fleet_text_equals_json_dumps_on_the_seeded_fleet() -> None:
    setup, policies, downs, gaps = loaded_sample()
    fleet = FleetText()  # one for all scenarios: its caches outlive a batch
    bands = 0
    for _, spec, now in SCENARIOS:
        jobs = [(svc, setup.policy(p), period_for(setup.policy(p), spec)) for svc, p in policies.items()]
        reports = list(compute_many(
            setup, jobs, now=datetime.fromisoformat(now), downtimes=downs, gaps=gaps
        ))
        for r in reports:
            assert fleet.encode(r) == _plain(r), r.service
            bands += len(r.timeline)
        buf = io.StringIO()
        assert write_json(reports, buf) == len(reports)
        assert buf.getvalue() == "[\n" + ",\n".join(_plain(r) for r in reports) + "\n]\n"
    assert bands > 1000


START = datetime(2026, 4, 1, tzinfo=UTC) - timedelta(hours=2)  # 2026-04 in Amsterdam
odd = st.text(
    st.one_of(
        st.sampled_from(['"', "\\", "/", "\n", "\t", "\x00", "\x1f", "\x7f", "\u2028", "é", "€",
                         "\U0001f4de", "\ud7ff", " ", "a"]),
        st.characters(),
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cause=odd,
    reasons=st.lists(odd, min_size=1, max_size=4),
    ticket=odd,
    extra=st.lists(st.tuples(st.one_of(st.sampled_from(["evidence", "checks", "site"]), odd), odd),
                   max_size=3),
    weighted=st.booleans(),
)
def test_fleet_text_equals_json_dumps_on_odd_strings(
    cause: str,
    reasons: list[str],
    ticket: str,
    extra: list[tuple[str, str]],
    weighted: bool,
) -> None:
    raw: dict[str, Any] = {"name": "p", "target_percent": 99.5, "period": "month"}
    if weighted:
        raw["weighting"] = {"total_users": 100}
    policy = SlaPolicy.model_validate(raw)
    maint = MaintenanceConfig.model_validate(
        {"recurring": [{"name": "weekend", "weekly": ["sat,sun 01:00-05:00"]}]}
    )
    setup = SlaSetup({"p": policy}, {}, maint)
    downs = [
        (svc, Downtime(START + timedelta(days=3 * i + k, hours=5), START + timedelta(days=3 * i + k, hours=6),
                       "P1", 10 * (i + 1), reason, f"file[{i}]", ticket, tuple(extra)))
        for k, svc in enumerate(["a", "b"])
        for i, reason in enumerate(reasons)
    ]
    period = period_for(policy, "2026-04")
    reports = list(compute_many(setup, [("a", policy, period), ("b", policy, period)],
                                now=datetime(2026, 5, 2, tzinfo=UTC), downtimes=downs,
                                gaps=[(None, Gap(START + timedelta(days=20), START + timedelta(days=21),
                                                 cause))]))
    fleet = FleetText()
    for r in reports:
        assert fleet.encode(r) == _plain(r)


def test_a_problem_that_starts_before_the_period_keeps_its_members_outside_it() -> None:
    """Downtimes chained by touching: the one wholly before the period still starts the problem."""
    policy = SlaPolicy.model_validate({"name": "p", "target_percent": 99.5, "period": "month"})
    setup = SlaSetup({"p": policy}, {}, MaintenanceConfig())
    period = period_for(policy, "2026-04")
    p0 = period.start
    hour = timedelta(hours=1)
    downtimes = [
        Downtime(p0 - 5 * hour, p0 - 4 * hour, "P1", reason="alone, long before"),
        Downtime(p0 - 2 * hour, p0 - hour, "P2", reason="first of the chain"),
        Downtime(p0 - hour, p0 + hour, "P1", reason="into the period"),
        Downtime(p0 + 3 * hour, p0 + 4 * hour, "P3", reason="inside"),
    ]
    kwargs: dict[str, Any] = {"service": "s", "policy": policy, "period": period,
              "now": datetime(2026, 5, 2, tzinfo=UTC), "downtimes": downtimes}
    fast, ref = compute(setup, **kwargs), compute_reference(setup, **kwargs)
    assert report_to_dict(fast) == report_to_dict(ref)
    first = fast.intervals[0]
    assert (first.kind, first.start, first.reports, first.priority) == ("downtime", p0, 2, "P1")
    assert first.reason == "first of the chain; into the period"
    assert fast.incidents[0].start == p0 - hour  # incidents list the downtimes in the period


@settings(max_examples=200, deadline=None)
@given(
    seconds=st.one_of(st.floats(), st.integers(-10, 10**12)),
    counted=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(0.0)),
    weighted=st.one_of(st.none(), st.floats(), st.integers(0, 9)),
    priority=st.one_of(st.none(), st.sampled_from(["P1", "P4"]), odd),
    reason=odd,
    reports=st.one_of(st.integers(0, 10**6), st.booleans()),
    users=st.one_of(st.none(), st.integers(0, 10**9), st.booleans()),
    note=odd,
    offset=st.integers(-14 * 60, 14 * 60),
)
def test_an_interval_row_put_together_equals_json_dumps(
    seconds: float, counted: float, weighted: float | None, priority: str | None, reason: str,
    reports: int, users: int | None, note: str, offset: int,
) -> None:
    from datetime import timezone

    from monitord.sla.render import _interval
    from monitord.sla.report import ReportInterval

    start = datetime(2026, 3, 29, 1, 30, 0, 250, tzinfo=timezone(timedelta(minutes=offset)))
    iv = ReportInterval(
        kind="downtime", start=start, end=START, seconds=seconds, counted_seconds=counted,
        priority=priority, reason=reason, reports=reports, users=users, note=note,
        weighted_seconds=weighted,
    )
    fleet = FleetText()
    text = json.dumps(_interval(iv), ensure_ascii=False)
    assert fleet._interval(iv) == text
    assert fleet._interval(iv) == text  # the instants' text kept, asked again
