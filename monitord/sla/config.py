"""Config models for SLA policies, office-hours calendars and maintenance windows.

Why here and not in monitord/config/models.py: the SLA engine owns its own
vocabulary (sla-rules §4-§7) and `Config` only names the three top-level keys.
Unknown keys are rejected like everywhere else. Every choice a contract leaves
ambiguous (per full vs started percent, rounding, which overlaps count) is an
explicit field with a documented default, never a hidden one.

Wall-clock times are written as one string per span, e.g. ``"mon-fri
08:30-17:30"`` or ``"fri 20:00-03:00"`` (an end at or before the start crosses
midnight into the next day). Strings, because YAML 1.1 reads an unquoted
``20:00`` as the sexagesimal integer 1200.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, Literal

from dateutil.rrule import rrulestr
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_validator,
)

from monitord.config.names import check_name

DEFAULT_TIMEZONE = "Europe/Amsterdam"
Priority = Literal["P1", "P2", "P3", "P4"]
PRIORITIES: tuple[Priority, ...] = ("P1", "P2", "P3", "P4")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _duration(value: Any, info: ValidationInfo) -> float:
    # Imported at call time: monitord.config.models imports this module.
    from monitord.config.durations import MAX_DURATION, bounded

    return bounded(MAX_DURATION)(value, info)


def _name(value: Any) -> str:
    return check_name(str(value))


Duration = Annotated[float, BeforeValidator(_duration)]
Name = Annotated[str, BeforeValidator(_name)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- weekly spans ---------------------------------------------------------------

_SPAN = re.compile(
    r"^\s*(?P<days>[a-z,\- ]+?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$"
)


class WeeklySpan(_Strict):
    """Days of the week and a wall-clock span; `end <= start` runs into the next day."""

    days: frozenset[int]  # 0 = Monday
    start: time
    end: time | None  # None = 24:00

    @property
    def crosses_midnight(self) -> bool:
        return self.end is not None and self.end <= self.start


def _parse_days(text: str) -> frozenset[int]:
    if text == "daily":
        return frozenset(range(7))
    days: set[int] = set()
    for part in text.replace(" ", "").split(","):
        lo, _, hi = part.partition("-")
        if lo not in WEEKDAYS or (hi and hi not in WEEKDAYS):
            raise ValueError(f"unknown weekday in {text!r}: use mon..sun, ranges and commas")
        a, b = WEEKDAYS.index(lo), WEEKDAYS.index(hi or lo)
        # a range may wrap the week end: "sat-mon"
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(b + 1)])
    return frozenset(days)


def _parse_clock(text: str, *, end: bool) -> time | None:
    hh, mm = (int(x) for x in text.split(":"))
    if end and (hh, mm) == (24, 0):
        return None
    if not (0 <= hh <= 23 and 0 <= mm <= 59):
        raise ValueError(f"invalid time {text!r}: use HH:MM from 00:00 to 23:59 (24:00 as an end)")
    return time(hh, mm)


def parse_span(value: Any) -> WeeklySpan:
    """'mon-fri 08:30-17:30' -> WeeklySpan."""
    if isinstance(value, WeeklySpan):
        return value
    match = _SPAN.match(str(value).lower()) if isinstance(value, str) else None
    if not match:
        raise ValueError(
            f"invalid weekly span {value!r}: write e.g. 'mon-fri 08:30-17:30' or 'fri 20:00-03:00'"
        )
    start = _parse_clock(match["start"], end=False)
    assert start is not None
    return WeeklySpan(
        days=_parse_days(match["days"].strip()),
        start=start,
        end=_parse_clock(match["end"], end=True),
    )


Span = Annotated[WeeklySpan, BeforeValidator(parse_span)]


def _tz(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
    return value


TimeZoneName = Annotated[str, BeforeValidator(lambda v: _tz(str(v)))]


# --- calendars --------------------------------------------------------------------


class CalendarConfig(_Strict):
    """Office hours: weekly spans minus public holidays (sla-rules §6)."""

    name: Name
    timezone: TimeZoneName = DEFAULT_TIMEZONE
    hours: list[Span] = Field(min_length=1)
    holidays: str | None = "NL"  # country code for the `holidays` package; null = none
    subdivision: str | None = None
    extra_closed_days: list[date] = Field(default_factory=list)  # e.g. company days off

    @field_validator("holidays")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.upper() not in _holiday_countries():
            raise ValueError(f"unknown holiday country {value!r}: use an ISO code such as 'NL'")
        return value.upper()


@lru_cache(maxsize=1)
def _holiday_countries() -> frozenset[str]:
    """ISO codes the `holidays` package knows, read from its registry.

    `holidays.list_supported_countries()` imports every country's module
    (0.2 s) to answer; the registry lists the same codes without that.
    """
    try:
        from holidays.registry import COUNTRIES
    except ImportError:  # pragma: no cover - a holidays release without the registry
        import holidays

        return frozenset(holidays.list_supported_countries())
    return frozenset(
        code
        for entry in COUNTRIES.values()
        for code in entry[1:]
        if code.isalpha() and code.isupper() and len(code) <= 3
    )


# --- maintenance windows ----------------------------------------------------------


class RecurringWindow(_Strict):
    """A standing window from the contract, weekly spans or an RRULE with a duration.

    With `announced_at` unset the window is part of the contract and always
    on time; with it set, the policy's `min_notice` applies to each occurrence.
    """

    name: Name
    kind: Name = "regular"
    services: list[Name] = Field(default_factory=list)  # empty = every service
    timezone: TimeZoneName = DEFAULT_TIMEZONE
    weekly: list[Span] = Field(default_factory=list)
    rrule: str | None = None
    start: datetime | None = None  # first occurrence, wall clock (no offset): DTSTART
    duration: Duration | None = None
    announced_at: datetime | None = None

    @field_validator("start")
    @classmethod
    def _naive(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            raise ValueError(
                "start is wall-clock time in the window's timezone: write it without an offset"
            )
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> RecurringWindow:
        if bool(self.weekly) == (self.rrule is not None):
            raise ValueError("give either weekly spans or an rrule (with start and duration)")
        if self.rrule is not None:
            if self.start is None or self.duration is None:
                raise ValueError("an rrule window needs start (wall clock) and duration")
            try:
                rrulestr(self.rrule, dtstart=self.start)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"invalid rrule {self.rrule!r}: {exc}") from exc
        return self


class OneOffWindow(_Strict):
    """A single announced window (created in config, later through the API or CLI)."""

    name: Name
    kind: Name = "regular"
    services: list[Name] = Field(default_factory=list)
    start: datetime
    end: datetime
    announced_at: datetime
    reason: str = ""

    @model_validator(mode="after")
    def _aware_and_ordered(self) -> OneOffWindow:
        for field in ("start", "end", "announced_at"):
            if getattr(self, field).tzinfo is None:
                raise ValueError(f"{field} needs a UTC offset, e.g. 2026-10-02T20:00:00+02:00")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class MaintenanceConfig(_Strict):
    recurring: list[RecurringWindow] = Field(default_factory=list)
    windows: list[OneOffWindow] = Field(default_factory=list)


# --- policies ---------------------------------------------------------------------


def _percent(value: Any) -> Decimal:
    """Percentages are exact decimals: 99.9 must compare equal to 99.9, not 99.89999."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"invalid percentage {value!r}")
    try:
        number = Decimal(str(value))
    except ArithmeticError as exc:
        raise ValueError(f"invalid percentage {value!r}") from exc
    if not number.is_finite() or not 0 <= number <= 100:
        raise ValueError(f"percentage must be between 0 and 100, got {value!r}")
    return number


Percent = Annotated[Decimal, BeforeValidator(_percent)]


class LinearCredit(_Strict):
    """VIOMS §8: `percent_per_step` of the fee per 1 % below `threshold_percent`, capped.

    `count: full` (default) reads "voor elke 1% down-tijd" literally: only whole
    steps earn credit; `started` counts a begun step as a whole one.
    """

    type: Literal["linear"]
    threshold_percent: Percent
    percent_per_step: Percent
    step_percent: Percent = Decimal(1)
    count: Literal["full", "started"] = "full"
    cap_percent: Percent = Decimal(100)

    @field_validator("step_percent")
    @classmethod
    def _positive(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise ValueError("step_percent must be positive")
        return value


class CreditTier(_Strict):
    below_percent: Percent  # strictly below: "lager dan 99,9%" / "< 99,9%"
    credit_percent: Percent


class TieredCredit(_Strict):
    """Xelion §3.5, Office 365: the deepest tier reached applies, capped."""

    type: Literal["tiers"]
    tiers: list[CreditTier] = Field(min_length=1)
    cap_percent: Percent = Decimal(100)


Credits = Annotated[LinearCredit | TieredCredit, Field(discriminator="type")]


class Rounding(_Strict):
    """Round the availability before comparing it with targets and tiers.

    Off by default (exact fractions). Contracts that state figures with two
    decimals may be read as rounding; `mode: down` never rounds a miss into a pass.
    """

    decimals: StrictInt = Field(ge=0, le=6)
    mode: Literal["half_up", "down", "half_even"] = "down"


class UserWeighting(_Strict):
    """Office 365: downtime in user-minutes over `total_users` times the period.

    An interval without `users` affected everyone. Overlapping incidents:
    `sum` (default, the contract sums per incident; capped at `total_users`)
    or `max` (overlaps are reports of one problem).
    """

    total_users: StrictInt = Field(ge=1)
    overlap: Literal["sum", "max"] = "sum"


class RestoreTarget(_Strict):
    """A share of incidents of one priority restored within a time (XTIUM §8: P1 90 % <= 4 h)."""

    priority: Priority
    within: Duration
    share_percent: Percent = Decimal(100)
    clock: Literal["clock", "office"] | None = None  # default: the restore rules' clock


class RestoreCredit(_Strict):
    """XTIUM §9: a credit when any incident of `priority` took longer than `over` to restore."""

    priority: Priority = "P1"
    over: Duration
    credit_percent: Percent = Decimal(100)  # of the monthly fee
    clock: Literal["clock", "office"] = "clock"


class RestoreRules(_Strict):
    """Restore-time targets per priority, in clock hours or a calendar's office hours.

    `start_rule: next_working_day` is the VIOMS rule: an incident that starts
    outside office hours starts the clock at the calendar's next opening,
    except for P1 (and except when the calendar is 24x7).
    """

    clock: Literal["clock", "office"] = "clock"
    calendar: str | None = None  # for office clocks; default: the policy's calendar
    start_rule: Literal["as_recorded", "next_working_day"] = "as_recorded"
    targets: list[RestoreTarget] = Field(default_factory=list)
    credit: RestoreCredit | None = None


class SlaPolicy(_Strict):
    name: Name
    version: str = "1"
    description: str = ""
    contract: str = ""  # the contract's name, printed on reports ("XTIUM Managed Voice 2026")
    target_percent: Percent
    period: Literal["month", "year", "contract_year", "rolling_12_months"] = "month"
    contract_start: date | None = None  # anchor of `contract_year`
    timezone: TimeZoneName = DEFAULT_TIMEZONE
    maintenance: Literal["excluded", "counts_as_up"] = "excluded"
    maintenance_kinds: list[Name] | None = None  # honoured kinds; null = all
    min_notice: dict[str, Duration] = Field(default_factory=dict)  # kind -> notice
    # honoured maintenance allowed per calendar month (XTIUM §5); beyond it, the latest
    # maintenance of the month counts as downtime (monitord/sla/caps.py)
    maintenance_cap: Duration | None = None
    downtime_counts: Literal["all"] | list[Priority] = "all"
    calendar: str = "24x7"  # or the name of a calendar
    outside_target_percent: Percent | None = None  # target outside calendar hours
    weighting: UserWeighting | None = None
    # time nobody watched (monitord/sla/verdict.py): counted as the contract says, or by
    # default left out and the verdict decided only if it holds either way
    unmonitored: Literal["up", "down", "excluded", "unknown"] = "unknown"
    max_interruptions: StrictInt | None = Field(default=None, ge=0)
    credits: Credits | None = None
    restore: RestoreRules | None = None  # restore-time targets per priority (incidents)
    rounding: Rounding | None = None

    @model_validator(mode="after")
    def _cross(self) -> SlaPolicy:
        if self.period == "contract_year" and self.contract_start is None:
            raise ValueError("period contract_year needs contract_start (the anchor date)")
        if self.outside_target_percent is not None and self.calendar == "24x7":
            raise ValueError("outside_target_percent needs an office-hours calendar, not 24x7")
        if isinstance(self.downtime_counts, list) and not self.downtime_counts:
            raise ValueError("downtime_counts lists no priority: nothing would count")
        return self

    def counts(self, priority: str) -> bool:
        return self.downtime_counts == "all" or priority in self.downtime_counts


# --- cross-references (called from monitord/config/load.py on the raw document) -----

CREDIT_TYPES = ("linear", "tiers")
SLA_MODELS: dict[str, list[type[BaseModel]]] = {
    "sla_policies": [
        SlaPolicy, LinearCredit, TieredCredit, CreditTier, Rounding, UserWeighting,
        RestoreRules, RestoreTarget, RestoreCredit,
    ],
    "calendars": [CalendarConfig],
    "maintenance": [MaintenanceConfig, RecurringWindow, OneOffWindow],
}
_Path = tuple[str | int, ...]


def entries(items: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    """The mappings of a raw list section, with their index; anything else is the models' to report."""
    for i, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, dict):
            yield i, item


def _named(items: Any, section: tuple[str, ...]) -> tuple[dict[str, int], list[tuple[_Path, str]]]:
    """Names of a list section and a problem for each duplicate."""
    names: dict[str, int] = {}
    problems: list[tuple[_Path, str]] = []
    for i, item in enumerate(items if isinstance(items, list) else []):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            continue
        if name in names:
            where = ".".join(section)
            problems.append(
                ((*section, i, "name"), f"duplicate name {name!r} (also {where}[{names[name]}])")
            )
        names.setdefault(name, i)
    return names, problems


def sla_reference_problems(data: dict[str, Any]) -> list[tuple[_Path, str]]:
    """Names that must exist: a service's sla_policy, a policy's calendar, a window's services."""
    policies, problems = _named(data.get("sla_policies"), ("sla_policies",))
    calendars, more = _named(data.get("calendars"), ("calendars",))
    problems += more
    if "24x7" in calendars:
        problems.append(
            (
                ("calendars", calendars["24x7"], "name"),
                "'24x7' is reserved for round-the-clock measurement",
            )
        )
    for name, i in policies.items():
        cal = data["sla_policies"][i].get("calendar")
        if isinstance(cal, str) and cal != "24x7" and cal not in calendars:
            known = ", ".join(["24x7", *calendars])
            problems.append(
                (
                    ("sla_policies", i, "calendar"),
                    f"unknown calendar {cal!r} in policy {name!r} (known: {known})",
                )
            )
        restore = data["sla_policies"][i].get("restore")
        rcal = restore.get("calendar") if isinstance(restore, dict) else None
        if isinstance(rcal, str) and rcal != "24x7" and rcal not in calendars:
            known = ", ".join(["24x7", *calendars])
            problems.append(
                (
                    ("sla_policies", i, "restore", "calendar"),
                    f"unknown calendar {rcal!r} in policy {name!r} (known: {known})",
                )
            )
    services = data.get("services")
    service_names: set[str] = set()
    for i, svc in entries(services):
        if isinstance(svc.get("name"), str):
            service_names.add(svc["name"])
        ref = svc.get("sla_policy")
        if isinstance(ref, str) and ref not in policies:
            known = ", ".join(policies) or "none defined under sla_policies"
            problems.append(
                (("services", i, "sla_policy"), f"unknown SLA policy {ref!r} (known: {known})")
            )
    maint = data.get("maintenance")
    if not isinstance(maint, dict):
        return problems
    seen: dict[str, str] = {}
    for section in ("recurring", "windows"):
        items = maint.get(section)
        for i, win in entries(items):
            wname = win.get("name")
            if isinstance(wname, str):
                if wname in seen:
                    problems.append(
                        (
                            ("maintenance", section, i, "name"),
                            f"duplicate window name {wname!r} (also {seen[wname]})",
                        )
                    )
                seen.setdefault(wname, f"maintenance.{section}[{i}]")
            targets = win.get("services")
            for j, target in enumerate(targets if isinstance(targets, list) else []):
                if (
                    isinstance(target, str)
                    and isinstance(services, list)
                    and target not in service_names
                ):
                    problems.append(
                        (("maintenance", section, i, "services", j), f"unknown service {target!r}")
                    )
    return problems
