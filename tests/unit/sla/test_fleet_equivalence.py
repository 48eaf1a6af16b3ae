"""The fleet engine gives the figures the engine gave before, to the second and to the credit.

Three comparisons, each over every service of a seeded 60-service fleet
(every policy kind, months around both DST changes and one still running):
- against `fixtures/fleet_before.json`, the digest of the engine before the
  rework (commit 4d7d78d), kept as a record;
- against the straightforward sweep kept in `monitord.sla.reference`;
- the bulk form (`compute_many`) against single-service reports.
Then hypothesis: random downtimes, gaps, one-off windows, calendars and
policies, fast engine == reference sweep, interval lists and timelines
included.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitord.sla.availability import Downtime, Gap
from monitord.sla.config import CalendarConfig, MaintenanceConfig, SlaPolicy
from monitord.sla.engine import SlaSetup, compute, compute_many, compute_reference, period_for
from monitord.sla.render import report_to_dict
from monitord.sla.report import Report
from tests.unit.sla.fleetdigest import SCENARIOS, SNAPSHOT, Inputs, digest, loaded_sample


@pytest.fixture(scope="module")
def sample() -> Inputs:
    return loaded_sample()


def _reports(sample: Inputs, engine: Any) -> Iterator[tuple[str, Report]]:
    setup, policies, downs, gaps = sample
    for label, spec, now in SCENARIOS:
        for service, policy_name in policies.items():
            policy = setup.policy(policy_name)
            yield f"{label}/{service}", engine(
                setup, service=service, policy=policy, period=period_for(policy, spec),
                now=datetime.fromisoformat(now),
                downtimes=[d for s, d in downs if s == service],
                gaps=[g for s, g in gaps if s in (None, service)],
            )


def test_figures_equal_the_record_of_the_engine_before(sample: Inputs) -> None:
    before = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    seen = 0
    for key, report in _reports(sample, compute):
        assert digest(report, report_to_dict(report)) == before[key], key
        seen += 1
    assert seen == len(before) == 240


def test_figures_equal_the_reference_sweep(sample: Inputs) -> None:
    fast = dict(_reports(sample, compute))
    for key, ref in _reports(sample, compute_reference):
        assert report_to_dict(fast[key]) == report_to_dict(ref), key


def test_bulk_equals_single_service_reports(sample: Inputs) -> None:
    setup, policies, downs, gaps = sample
    label, spec, now = SCENARIOS[0]
    jobs = []
    for service, name in policies.items():
        policy = setup.policy(name)
        jobs.append((service, policy, period_for(policy, spec)))
    bulk = compute_many(
        setup, jobs, now=datetime.fromisoformat(now), downtimes=downs, gaps=gaps
    )
    assert [r.service for r in bulk] == list(policies)
    single = dict(_reports(sample, compute))
    for r in bulk:
        assert report_to_dict(r) == report_to_dict(single[f"{label}/{r.service}"])


# --- any data: fast == reference -----------------------------------------------------

START = datetime(2026, 3, 1, tzinfo=UTC)  # March 2026: the clocks go forward on the 29th
SPAN = 40 * 86400
CAL = CalendarConfig.model_validate({"name": "office", "hours": ["mon-fri 08:30-17:30"]})
MAINT_RAW = {
    "recurring": [
        {"name": "weekend", "weekly": ["sat,sun 01:00-05:00"]},
        {"name": "tuesday", "services": ["svc"], "rrule": "FREQ=WEEKLY;BYDAY=TU",
         "start": "2026-01-06T23:00:00", "duration": "4h", "announced_at": "2026-01-01T00:00:00+00:00",
         "kind": "necessary"},
        {"name": "other", "services": ["other"], "weekly": ["mon 10:00-12:00"]},
    ],
}


def _t(seconds: int) -> datetime:
    return START + timedelta(seconds=seconds)


spans = st.tuples(st.integers(-86400, SPAN), st.integers(0, 2 * 86400))
policy_args = st.fixed_dictionaries(
    {
        "period": st.sampled_from(["month", "month", "rolling_12_months"]),
        "maintenance": st.sampled_from(["excluded", "counts_as_up"]),
        "unmonitored": st.sampled_from(["up", "down", "excluded", "unknown"]),
        "downtime_counts": st.sampled_from(["all", ["P1"], ["P1", "P2"]]),
        "calendar": st.sampled_from(["24x7", "office"]),
        "outside": st.booleans(),
        "weighting": st.sampled_from([None, {"total_users": 100}, {"total_users": 100, "overlap": "max"}]),
        "min_notice": st.sampled_from([{}, {"necessary": "30d"}, {"regular": "1d"}]),
        "cap": st.sampled_from([None, None, "4h", "90m"]),
    }
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    args=policy_args,
    downs=st.lists(st.tuples(spans, st.sampled_from(["P1", "P2", "P3"]),
                             st.sampled_from([None, 0, 10, 60, 150])), max_size=8),
    gaps=st.lists(spans, max_size=3),
    windows=st.lists(st.tuples(spans, st.integers(-5, 20)), max_size=3),
    now=st.integers(-3 * 86400, SPAN + 3 * 86400),
    spec=st.sampled_from(["2026-03", "2026-04"]),
)
def test_fast_engine_equals_the_reference_sweep(
    args: dict[str, Any],
    downs: list[tuple[tuple[int, int], str, int | None]],
    gaps: list[tuple[int, int]],
    windows: list[tuple[tuple[int, int], int]],
    now: int,
    spec: str,
) -> None:
    raw: dict[str, Any] = {
        "name": "p", "target_percent": 99.5, "period": args["period"],
        "maintenance": args["maintenance"], "unmonitored": args["unmonitored"],
        "downtime_counts": args["downtime_counts"], "calendar": args["calendar"],
        "min_notice": args["min_notice"],
    }
    if args["outside"] and args["calendar"] != "24x7":
        raw["outside_target_percent"] = 95
    if args["weighting"]:
        raw["weighting"] = args["weighting"]
    if args["cap"]:
        raw["maintenance_cap"] = args["cap"]
    policy = SlaPolicy.model_validate(raw)
    maint = dict(MAINT_RAW)
    maint["windows"] = [
        {"name": f"w{i}", "services": ["svc"] if i % 2 else [], "kind": "regular",
         "start": _t(a).isoformat(), "end": _t(a + max(b, 60)).isoformat(),
         "announced_at": (_t(a) - timedelta(days=notice)).isoformat()}
        for i, ((a, b), notice) in enumerate(windows)
    ]
    setup = SlaSetup({"p": policy}, {"office": CAL}, MaintenanceConfig.model_validate(maint))
    downtimes = [Downtime(_t(a), _t(a + b), prio, users, f"r{i % 2}")
                 for i, ((a, b), prio, users) in enumerate(downs)]
    holes = [Gap(_t(a), _t(a + b), f"c{i}") for i, (a, b) in enumerate(gaps)]
    kwargs: dict[str, Any] = {
        "service": "svc", "policy": policy, "period": period_for(policy, spec), "now": _t(now),
        "downtimes": downtimes, "gaps": holes,
    }
    fast, ref = compute(setup, **kwargs), compute_reference(setup, **kwargs)
    assert report_to_dict(fast) == report_to_dict(ref)
    assert fast.availability == ref.availability
    assert fast.credit_percent == ref.credit_percent
    assert fast.timeline == ref.timeline
