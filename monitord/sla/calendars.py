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

import importlib.util
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
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
    # what holidays.country_holidays(country, subdiv=subdivision, years=years) builds
    table = _country_class(country)(
        years=years, subdiv=subdivision, expand=True, observed=True, prov=None, state=None,
        language=None, categories=None,
    )
    return frozenset(table.keys())


@lru_cache(maxsize=16)
def _country_class(code: str) -> Any:
    """The `holidays` class of one country, its module loaded on its own.

    Why: `holidays.country_holidays` imports the package `holidays.countries`,
    whose `__init__` imports all of its ~270 countries to use one (0.1 s, more
    than a month's figures of a fleet take). The package's registry names the
    country's module; it is loaded from its file, not registered in
    `sys.modules` (a later import of the package loads it as usual). Anything
    unexpected falls back to the package's own lazy loader.
    """
    import holidays  # ~50 ms to import: only for calendars that name a country

    try:
        from holidays.registry import COUNTRIES

        module = next(m for m, names in COUNTRIES.items() if code in names)
        path = Path(holidays.__file__).parent / "countries" / f"{module}.py"
        spec = importlib.util.spec_from_file_location(f"holidays.countries.{module}", path)
        if spec is None or spec.loader is None:
            raise ImportError(path)
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        return getattr(loaded, code)
    except Exception:  # a layout this does not know: the package's way, slower
        return lambda **options: holidays.country_holidays(code, **options)


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
