"""Credit tier boundaries to the second, and properties that must hold for any data."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitord.core.intervals import Interval
from monitord.sla.availability import Downtime, Gap
from monitord.sla.config import LinearCredit, MaintenanceConfig, Rounding, SlaPolicy
from monitord.sla.credits import linear_credit, rounded
from monitord.sla.engine import SlaSetup, compute, period_for
from monitord.sla.periods import Period
from tests.unit.sla.test_contracts import setup

NOW = datetime(2027, 6, 1, tzinfo=UTC)


def _down(start: datetime, seconds: int, priority: str = "P1") -> Downtime:
    return Downtime(start, start + timedelta(seconds=seconds), priority)


# Xelion contract year from 1 Nov 2025: T = 31,536,000 s; 0.1 % of T = 31,536 s.
# Downtime placed Sat 3 Jan 2026 00:00 CET onward: no Mon-Fri evening window within 48 h.
XELION_START = datetime(2026, 1, 2, 23, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "credit"),
    [
        (31_536, 0),  # B = 99.9 exactly: not "lager dan 99,9%"
        (31_537, 25),
        (63_072, 25),  # B = 99.8 exactly
        (63_073, 50),
        (94_608, 50),  # B = 99.7 exactly
        (94_609, 100),
    ],
)
def test_xelion_tier_boundaries(seconds: int, credit: int) -> None:
    s = setup()
    policy = s.policy("xelion-premium")
    report = compute(
        s,
        service="xelion-pbx",
        policy=policy,
        period=period_for(policy, "2026-10"),
        now=NOW,
        downtimes=[_down(XELION_START, seconds)],
    )
    assert report.downtime_seconds == seconds
    assert report.credit_percent == credit


# Office 365, October 2026: 2,682,000 s x 200 users; downtime affecting everyone.
@pytest.mark.parametrize(
    ("seconds", "credit"),
    [(2_682, 0), (2_683, 25), (26_820, 25), (26_821, 50), (134_100, 50), (134_101, 100)],
)
def test_office365_tier_boundaries(seconds: int, credit: int) -> None:
    s = setup()
    policy = s.policy("office365")
    start = datetime(2026, 10, 2, tzinfo=UTC)
    report = compute(
        s,
        service="office365",
        policy=policy,
        period=period_for(policy, "2026-10"),
        now=NOW,
        downtimes=[_down(start, seconds)],
    )
    assert report.credit_percent == credit


def _linear(count: str) -> LinearCredit:
    return LinearCredit.model_validate(
        {
            "type": "linear",
            "threshold_percent": 99.6,
            "percent_per_step": 5,
            "count": count,
            "cap_percent": 60,
        }
    )


@pytest.mark.parametrize(
    ("availability", "full", "started"),
    [
        (Fraction(996, 10), 0, 0),  # at the guarantee: nothing
        (Fraction(9959, 100), 0, 5),  # 0.01 below: no full point, one started
        (Fraction(986, 10), 5, 5),  # exactly 1 point below
        (Fraction(975, 10), 10, 15),  # the VIOMS worked example: 2.1 points
        (Fraction(80), 60, 60),  # 19.6 points: 95 % capped at 60 %
    ],
)
def test_vioms_linear_credit_full_and_started(
    availability: Fraction, full: int, started: int
) -> None:
    assert linear_credit(availability, _linear("full")) == full
    assert linear_credit(availability, _linear("started")) == started


def test_rounding_down_never_turns_a_miss_into_a_pass() -> None:
    just_below = Fraction(999, 10) - Fraction(1, 10**30)
    assert rounded(just_below, Rounding(decimals=2, mode="down")) == Fraction(9989, 100)
    assert rounded(just_below, Rounding(decimals=2, mode="half_up")) == Fraction(999, 10)
    assert rounded(just_below, None) == just_below


# --- properties -------------------------------------------------------------------

PERIOD = Period(
    "month",
    "2026-10",
    datetime(2026, 9, 30, 22, tzinfo=UTC),
    datetime(2026, 10, 31, 23, tzinfo=UTC),
)
SPAN = int((PERIOD.end - PERIOD.start).total_seconds())


def _policy(**extra: object) -> SlaPolicy:
    return SlaPolicy.model_validate({"name": "p", "target_percent": 99.9, **extra})


MAINT = MaintenanceConfig.model_validate(
    {"recurring": [{"name": "weekend", "weekly": ["sat,sun 01:00-05:00"]}]}
)

intervals = st.lists(st.tuples(st.integers(0, SPAN), st.integers(1, 3 * 86400)), max_size=6)


def _downs(raw: list[tuple[int, int]]) -> list[Downtime]:
    return [
        _down(PERIOD.start + timedelta(seconds=a), min(b, SPAN - a) if a < SPAN else 0)
        for a, b in raw
    ]


def _run(policy: SlaPolicy, downs: list[Downtime], gaps: Sequence[Gap] = ()) -> Fraction:
    s = SlaSetup({"p": policy}, {}, MAINT)
    return compute(
        s, service="svc", policy=policy, period=PERIOD, now=NOW, downtimes=downs, gaps=gaps
    ).availability


@settings(max_examples=60, deadline=None)
@given(intervals, st.tuples(st.integers(0, SPAN - 1), st.integers(1, 86400)))
def test_adding_downtime_never_raises_availability(
    raw: list[tuple[int, int]], extra: tuple[int, int]
) -> None:
    for policy in (_policy(), _policy(maintenance="counts_as_up"), _policy(unmonitored="down")):
        before = _run(policy, _downs(raw))
        after = _run(policy, _downs([*raw, extra]))
        assert after <= before


@settings(max_examples=60, deadline=None)
@given(intervals, intervals)
def test_counts_as_up_is_never_below_excluded(
    raw: list[tuple[int, int]], gaps_raw: list[tuple[int, int]]
) -> None:
    # Taking maintenance out of the measured time shrinks the denominator while the
    # counted downtime stays the same, so `excluded` can only be lower or equal.
    gaps = [Gap(d.start, d.end) for d in _downs(gaps_raw)]
    for unmonitored in ("up", "down", "excluded"):
        excluded = _run(_policy(unmonitored=unmonitored), _downs(raw), gaps)
        counts_as_up = _run(
            _policy(maintenance="counts_as_up", unmonitored=unmonitored), _downs(raw), gaps
        )
        assert counts_as_up >= excluded


@settings(max_examples=40, deadline=None)
@given(intervals, st.integers(1, SPAN - 1))
def test_splitting_the_period_sums_to_the_whole(raw: list[tuple[int, int]], cut: int) -> None:
    policy = _policy(unmonitored="down")
    s = SlaSetup({"p": policy}, {}, MAINT)
    mid = PERIOD.start + timedelta(seconds=cut)
    parts = [Period("month", "a", PERIOD.start, mid), Period("month", "b", mid, PERIOD.end)]
    downs = _downs(raw)
    whole = compute(s, service="svc", policy=policy, period=PERIOD, now=NOW, downtimes=downs)
    halves = [
        compute(s, service="svc", policy=policy, period=p, now=NOW, downtimes=downs) for p in parts
    ]
    for field in (
        "measured_seconds",
        "maintenance_seconds",
        "downtime_seconds",
        "unmonitored_seconds",
    ):
        assert sum(getattr(h, field) for h in halves) == pytest.approx(
            getattr(whole, field), abs=1e-6
        )
    assert (
        whole.availability
        == (
            (
                sum(Fraction(h.measured_seconds) for h in halves)
                - sum(Fraction(h.downtime_seconds) for h in halves)
            )
            * 100
            / sum(Fraction(h.measured_seconds) for h in halves)
        )
        or whole.measured_seconds == 0
    )


def test_unmonitored_gap_is_reported_and_treated_per_policy() -> None:
    gap = Gap(
        datetime(2026, 10, 5, tzinfo=UTC), datetime(2026, 10, 5, 1, tzinfo=UTC), "unclean_shutdown"
    )
    for treatment, measured_delta, down in (
        ("up", 0, 0),
        ("down", 0, 3600),
        ("excluded", -3600, 0),
    ):
        policy = _policy(unmonitored=treatment)
        s = SlaSetup({"p": policy}, {}, MaintenanceConfig())
        r = compute(
            s, service="svc", policy=policy, period=PERIOD, now=NOW, downtimes=[], gaps=[gap]
        )
        assert r.unmonitored_seconds == 3600
        assert r.measured_seconds == SPAN + measured_delta
        assert r.availability == Fraction(
            (SPAN + measured_delta - down) * 100, SPAN + measured_delta
        )
        assert [i.kind for i in r.intervals] == ["unmonitored"]


def test_target_is_an_exact_decimal() -> None:
    assert _policy().target_percent == Decimal("99.9")
    assert Interval(PERIOD.start, PERIOD.end).duration.total_seconds() == SPAN
