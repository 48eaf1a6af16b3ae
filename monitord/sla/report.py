"""The SLA report per service and period: every figure an SLA manager checks.

Why so much in one record: a service-credit dispute needs the figure, the
inputs it was computed from (each interval with its reason and whether it
counted), the policy version applied, and a timeline the HTML report draws.
Exact values (fractions of microseconds, config decimals) are kept; floats
appear only in `render.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Literal

from monitord.sla.availability import Figures, State
from monitord.sla.incidents import Incident, RestoreSummary
from monitord.sla.verdict import verdict

if TYPE_CHECKING:  # built in assemble.py, which imports this module
    from monitord.sla.assemble import ReportDetail
    from monitord.sla.review import ReviewEntry

IntervalKind = Literal[
    "downtime", "downtime_not_counted", "maintenance", "maintenance_not_honoured", "excluded",
    "unmonitored",
]


@dataclass(frozen=True, slots=True)
class ReportInterval:
    kind: IntervalKind
    start: datetime  # clipped to the period
    end: datetime
    seconds: float
    counted_seconds: float  # the part that counted against availability
    priority: str | None = None
    reason: str = ""
    reports: int = 1  # input intervals merged into this one (one problem counts once)
    users: int | None = None
    note: str = ""
    # user-weighted counted seconds (policies with `weighting`): the rows add up to
    # `downtime_seconds`; `counted_seconds` stays the time (issue 16)
    weighted_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class TimelineBand:
    start: datetime
    end: datetime
    state: State


@dataclass(frozen=True, slots=True)
class ScopeFigures:
    """Figures for the time outside the calendar's hours (Infravision: 95 % outside)."""

    measured_seconds: float
    maintenance_seconds: float
    downtime_seconds: float
    unmonitored_seconds: float
    availability: Fraction | None  # None: nobody watched any of this time
    target_percent: Decimal
    met: bool | None  # None: undetermined (depends on time nobody watched)
    coverage_percent: Fraction = Fraction(100)
    availability_bounds: tuple[Fraction, Fraction] | None = None


class MonthFigures:
    """One month of a multi-month period (the trend); availability made exact when asked for."""

    __slots__ = ("_figures", "downtime_seconds", "end", "measured_seconds", "start")

    def __init__(self, start: datetime, end: datetime, figures: Figures) -> None:
        self.start = start
        self.end = end
        self._figures = figures
        self.measured_seconds = _seconds(figures.measured_us)
        self.downtime_seconds = _s(figures.weighted_down_us)

    @property
    def availability(self) -> Fraction | None:
        f = self._figures
        if f.measured_us <= 0 and f.unmonitored_us > 0:
            return None  # nobody watched this month: no figure, never 100 %
        return f.availability

    @property
    def unmonitored_seconds(self) -> float:
        return _seconds(self._figures.unmonitored_us)

    @property
    def availability_float(self) -> float | None:
        """float(availability) without building the Fraction (int / int rounds correctly)."""
        f = self._figures
        measured = f.measured_us
        if measured <= 0:
            return None if f.unmonitored_us > 0 else 100.0
        lost = f.unavailable_us
        return (measured * lost.denominator - lost.numerator) * 100 / (measured * lost.denominator)


@dataclass(frozen=True, slots=True)
class BeforeReview:
    """What the report said before its review: shown next to the reviewed figures."""

    availability: Fraction | None
    downtime_seconds: float
    downtime_by_priority: dict[str, float]
    interruptions: int
    met: bool | None
    credit_percent: Fraction | None


@dataclass(frozen=True, slots=True)
class Report:
    service: str
    customer: str  # from the service's config, for the report an SLA manager sends
    contract: str  # the policy's contract name
    policy: str
    policy_version: str
    period_kind: str
    period_label: str
    period_start: datetime
    period_end: datetime
    as_of: datetime  # min(now, period_end): later time is pending
    period_seconds: float
    calendar: str
    maintenance_treatment: str
    unmonitored_treatment: str
    measured_seconds: float
    maintenance_seconds: float
    downtime_seconds: float  # counted, user-weighted when the policy weighs
    downtime_by_priority: dict[str, float]  # all priorities, outside maintenance
    downtime_user_seconds: float | None
    unmonitored_seconds: float
    coverage_percent: Fraction  # watched share of the time that counts (issue 12)
    availability: Fraction | None  # exact percent over measured time; None: nothing watched
    availability_decided: Fraction | None  # after the policy's rounding: what targets use
    # with `unmonitored: unknown` and unwatched time: (all of it down, all of it up)
    availability_bounds: tuple[Fraction, Fraction] | None
    target_percent: Decimal
    availability_met: bool | None  # None: undetermined
    error_budget_seconds: float  # allowed unavailability over the whole period minus used; < 0 = overrun
    interruptions: int
    max_interruptions: int | None
    interruptions_met: bool | None
    met: bool | None  # None: undetermined (it depends on time nobody watched)
    credit_percent: Fraction | None  # None: depends on unwatched time, see credit_bounds
    credit_bounds: tuple[Fraction, Fraction] | None
    outside_hours: ScopeFigures | None
    months: tuple[MonthFigures, ...]
    detail: ReportDetail = field(repr=False, compare=False)
    restore: RestoreSummary | None = None  # restore-time targets, when the policy sets them
    review_version: int = 0  # the last review record applied; 0: not reviewed
    review_log: tuple[ReviewEntry, ...] = ()  # the audit entries applied, oldest first
    before_review: BeforeReview | None = None  # the figures without the review

    @property
    def complete(self) -> bool:
        return self.as_of >= self.period_end

    @property
    def verdict(self) -> str:
        """`met`, `not_met` or `undetermined` (never met on time nobody watched)."""
        return verdict(self.met)

    @property
    def intervals(self) -> tuple[ReportInterval, ...]:
        """Every interval with its kind, reason and counted seconds (built on first use)."""
        return self.detail.intervals()

    @property
    def incidents(self) -> tuple[Incident, ...]:
        """One row per problem, with restore times and review notes (built on first use)."""
        return self.detail.incidents()

    @property
    def timeline(self) -> tuple[TimelineBand, ...]:
        """The period as state bands, for drawing (built on first use)."""
        return self.detail.timeline()


def _s(us: int | Fraction) -> float:
    """Microseconds -> seconds, rounded to the microsecond (int / int rounds correctly)."""
    return round(us.numerator / (us.denominator * 1_000_000), 6)



def _seconds(us: int) -> float:
    return round(us / 1_000_000, 6)  # int / int is correctly rounded, as float(Fraction) is


