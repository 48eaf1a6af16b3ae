"""Office-hours calendars and weekly wall-clock spans, expanded to UTC intervals.

Why: Infravision measures 99.5 % "tijdens kantooruren" (Mon-Fri 08:30-17:30)
and national holidays are not working days (sla-rules §6). Spans are laid
out day by day in local time and each is converted to UTC on its own, so a
span on a DST Sunday has its true length. A wall time the clocks skip (02:30
on the last Sunday of March) maps to the instant the clock shows after the
jump; one that occurs twice (02:30 on the last Sunday of October) means the
first occurrence (fold=0).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from monitord.core.intervals import Interval, union
from monitord.sla.config import CalendarConfig, WeeklySpan

TWENTY_FOUR_SEVEN = "24x7"


def wall_to_utc(day: date, hh: int, mm: int, tz: ZoneInfo) -> datetime:
    """Local wall time -> UTC, with the gap/fold rules of the module docstring."""
    local = datetime(day.year, day.month, day.day, hh, mm, tzinfo=tz)
    return local.astimezone(UTC)


def span_intervals(
    spans: Iterable[WeeklySpan],
    window: Interval,
    tz: ZoneInfo,
    skip_day: Iterable[date] = (),
) -> list[Interval]:
    """Occurrences of weekly `spans` overlapping `window`, clipped to it.

    A span belongs to the day it starts on: with that day in `skip_day`
    (a holiday) the whole occurrence is dropped, also its part after midnight.
    """
    skipped = set(skip_day)
    spans = list(spans)
    first = window.start.astimezone(tz).date() - timedelta(days=1)  # a span may start the day before
    last = window.end.astimezone(tz).date()
    out: list[Interval] = []
    day = first
    while day <= last:
        if day not in skipped:
            for span in spans:
                if day.weekday() not in span.days:
                    continue
                start = wall_to_utc(day, span.start.hour, span.start.minute, tz)
                if span.end is None:
                    end = wall_to_utc(day + timedelta(days=1), 0, 0, tz)
                elif span.crosses_midnight:
                    end = wall_to_utc(day + timedelta(days=1), span.end.hour, span.end.minute, tz)
                else:
                    end = wall_to_utc(day, span.end.hour, span.end.minute, tz)
                clipped = Interval(start, max(start, end)).clip(window.start, window.end)
                if clipped is not None:
                    out.append(clipped)
        day += timedelta(days=1)
    return union(out)


@lru_cache(maxsize=64)
def _holiday_dates(country: str, subdivision: str | None, years: tuple[int, ...]) -> frozenset[date]:
    import holidays as holidays_pkg  # ~50 ms to import: only for calendars that name a country

    table = holidays_pkg.country_holidays(country, subdiv=subdivision, years=years)
    return frozenset(table.keys())


def closed_days(calendar: CalendarConfig, window: Interval) -> frozenset[date]:
    """Public holidays (the maintained `holidays` package) and extra closed days in `window`."""
    tz = ZoneInfo(calendar.timezone)
    years = tuple(
        range(window.start.astimezone(tz).year - 1, window.end.astimezone(tz).year + 1)
    )
    days = set(calendar.extra_closed_days)
    if calendar.holidays is not None:
        days |= _holiday_dates(calendar.holidays, calendar.subdivision, years)
    return frozenset(days)


def calendar_intervals(calendar: CalendarConfig | None, window: Interval) -> list[Interval]:
    """In-hours time of `calendar` within `window` as UTC intervals; None means 24x7."""
    if calendar is None:
        return [window] if window.start < window.end else []
    tz = ZoneInfo(calendar.timezone)
    return span_intervals(calendar.hours, window, tz, closed_days(calendar, window))
