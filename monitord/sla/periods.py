"""Reporting periods: calendar boundaries in wall-clock time, lengths in UTC.

Why wall clock: contracts say "per month" in Dutch time, so October 2026 runs
from 1 Oct 00:00 CEST to 1 Nov 00:00 CET: 745 hours, not 744 (the clocks go
back on 25 Oct). Boundaries are built as local midnights and converted to
UTC once; every duration after that is UTC arithmetic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from monitord.core.intervals import Interval
from monitord.errors import SlaError

PeriodKind = Literal["month", "year", "contract_year", "rolling_12_months"]
_SPEC = re.compile(r"^(\d{4})(?:-(\d{2}))?$")
# Nothing is recorded before the Unix epoch, and a period must end (and be cut
# into months, a year back for rolling periods) inside what datetime can hold.
MIN_YEAR, MAX_YEAR = 1970, 9998


@dataclass(frozen=True, slots=True)
class Period:
    """One evaluated period; `months` splits it at local month starts (for monthly trend)."""

    kind: PeriodKind
    label: str
    start: datetime  # UTC
    end: datetime  # UTC, exclusive

    @property
    def interval(self) -> Interval:
        return Interval(self.start, self.end)

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def as_of(self, now: datetime) -> datetime:
        """`now` held inside the period: how far it has happened yet."""
        return min(max(now, self.start), self.end)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """00:00 of `day` in `tz`, as UTC (Dutch midnights are never in a DST gap)."""
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def parse_period_spec(spec: str) -> tuple[int, int | None]:
    """'2026-10' -> (2026, 10); '2026' -> (2026, None)."""
    match = _SPEC.match(spec.strip())
    month = int(match.group(2)) if match and match.group(2) else None
    if not match or (month is not None and not 1 <= month <= 12):
        raise SlaError(f"invalid period {spec!r}: use YYYY-MM (e.g. 2026-10) or YYYY")
    year = int(match.group(1))
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise SlaError(f"invalid period {spec!r}: the year must be {MIN_YEAR}..{MAX_YEAR}")
    return year, month


def resolve_period(
    kind: PeriodKind,
    spec: str,
    *,
    timezone: str = "Europe/Amsterdam",
    contract_start: date | None = None,
) -> Period:
    """The period of `kind` that `spec` names.

    - month: the month (YYYY-MM required);
    - year: the calendar year (YYYY, or the year of YYYY-MM);
    - contract_year: the contract year, anchored at `contract_start`, that
      contains the first day of the month given (or 1 January of YYYY);
    - rolling_12_months: the 12 months ending with the month given (voizXL:
      "the last 12 months, reported per month").
    """
    try:
        return _resolve(kind, spec, ZoneInfo(timezone), contract_start)
    except (ValueError, OverflowError) as exc:  # e.g. a contract_start near year 9999
        raise SlaError(f"period {spec!r}: outside the dates that can be computed ({exc})") from None


def _resolve(kind: PeriodKind, spec: str, tz: ZoneInfo, contract_start: date | None) -> Period:
    year, month = parse_period_spec(spec)
    if kind == "month":
        if month is None:
            raise SlaError(f"period {spec!r}: a monthly policy needs YYYY-MM")
        first = date(year, month, 1)
        return _period(kind, f"{year:04d}-{month:02d}", first, first + relativedelta(months=1), tz)
    if kind == "year":
        return _period(kind, f"{year:04d}", date(year, 1, 1), date(year + 1, 1, 1), tz)
    if kind == "rolling_12_months":
        if month is None:
            raise SlaError(f"period {spec!r}: a rolling 12-month policy needs YYYY-MM")
        end = date(year, month, 1) + relativedelta(months=1)
        return _period(kind, f"12 months to {year:04d}-{month:02d}", end - relativedelta(months=12), end, tz)
    if contract_start is None:
        raise SlaError("a contract_year period needs the policy's contract_start")
    day = date(year, month or 1, 1)
    n = day.year - contract_start.year
    start = contract_start + relativedelta(years=n)
    if start > day:
        n -= 1
    start = contract_start + relativedelta(years=n)
    end = contract_start + relativedelta(years=n + 1)
    return _period(kind, f"contract year {start.isoformat()}", start, end, tz)


def _period(kind: PeriodKind, label: str, first: date, end: date, tz: ZoneInfo) -> Period:
    return Period(kind, label, local_midnight(first, tz), local_midnight(end, tz))


def month_starts(period: Period, timezone: str = "Europe/Amsterdam") -> list[Interval]:
    """The period cut at local month boundaries (a contract year may start mid-month)."""
    tz = ZoneInfo(timezone)
    local = period.start.astimezone(tz).date()
    cursor = date(local.year, local.month, 1)
    out: list[Interval] = []
    while True:
        cursor += relativedelta(months=1)
        cut = local_midnight(cursor, tz)
        lo = out[-1].end if out else period.start
        if cut >= period.end:
            out.append(Interval(lo, period.end))
            return out
        out.append(Interval(lo, cut))


def hours(period: Period) -> float:
    return period.seconds / 3600


__all__ = [
    "Period",
    "PeriodKind",
    "hours",
    "local_midnight",
    "month_starts",
    "parse_period_spec",
    "resolve_period",
]
