"""The availability formulas of sla-rules §4: what is down, measured, excluded, and the figures.

Each instant of a period is classified once. Precedence inside measured
time, highest first:

1. honoured maintenance: `excluded` takes it out of the measured time
   (voizXL, XTIUM); `counts_as_up` keeps it measured and up (Xelion);
2. counted downtime (priority selected by `downtime_counts`): down, weighted
   by affected users when the policy weighs;
3. unmonitored gap: per the policy's `unmonitored` (`up`, `down`,
   `excluded`, or `unknown`: left out of the figure and the verdict decided
   only when it holds whichever way the unwatched time went); always
   reported. Recorded downtime wins over a gap because it is evidence;
4. otherwise up.

Overlapping downtimes of one problem count once (XTIUM §1): an instant is
down or not, however many intervals cover it. All arithmetic is in integer
microseconds and exact fractions; floats appear only when rendering.

Two engines compute the same `Measurement`: `sweep.py` (fast, shares the
calendar and maintenance work across a fleet) and `reference.py` (the
straightforward per-service sweep it replaced, kept as the executable
definition the fast one is tested against).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import TYPE_CHECKING, Literal, NamedTuple

from monitord.core.intervals import Interval

if TYPE_CHECKING:
    from monitord.sla.config import SlaPolicy

Scope = Literal["in", "out"]
State = Literal["up", "down", "maintenance", "planned_down", "unmonitored", "outside_hours", "pending"]


class Downtime(NamedTuple):
    """One downtime interval as recorded by the daemon or a ticketing system.

    A NamedTuple (immutable like the frozen dataclasses elsewhere): a fleet's
    intervals file makes tens of thousands, and a tuple is built five times
    faster.
    """

    start: datetime
    end: datetime
    priority: str = "P1"
    users: int | None = None  # affected users; None = everyone
    reason: str = ""
    source: str = ""  # where it came from: "store:12", "file[3]"
    ticket: str = ""  # the ticket system's reference
    extra: tuple[tuple[str, str], ...] = ()  # a ticket export's own columns, kept and shown

    @property
    def interval(self) -> Interval:
        return Interval(self.start, self.end)


class Gap(NamedTuple):
    """Time nobody was watching (daemon not running, or a hole in the ticket data)."""

    start: datetime
    end: datetime
    cause: str = "unmonitored"

    @property
    def interval(self) -> Interval:
        return Interval(self.start, self.end)


class Figures(NamedTuple):
    """Sums over one scope of one window, in microseconds (exact)."""

    window_us: int
    measured_us: int
    maintenance_us: int
    downtime_us: int  # time with counted downtime, unweighted
    weighted_down_us: Fraction  # counted downtime, weighted by affected users
    unavailable_us: Fraction  # what the formula subtracts: downtime + unmonitored-as-down
    unmonitored_us: int
    by_priority_us: dict[str, int]
    planned_measured_us: int  # measured time over the whole period, `now` ignored

    @property
    def availability(self) -> Fraction:
        """Percent, exact. No measured time means nothing could fail: 100."""
        measured = self.measured_us
        if measured <= 0:
            return Fraction(100)
        lost = self.unavailable_us  # one Fraction built, not four: a fleet asks this often
        return Fraction(
            (measured * lost.denominator - lost.numerator) * 100, measured * lost.denominator
        )


def unmonitored_mode(policy: SlaPolicy) -> str:
    """How the figures treat unwatched time: `unknown` is left out like `excluded`."""
    return "excluded" if policy.unmonitored == "unknown" else policy.unmonitored


def derive(
    policy: SlaPolicy,
    *,
    window: int,
    maintenance: int,
    down: int,
    weighted: Fraction,
    unmonitored: int,
    by_priority: dict[str, int],
    planned: int,
) -> Figures:
    """Figures from the sums of one scope and window (the formula's bookkeeping, once)."""
    mode = unmonitored_mode(policy)
    measured = window
    if policy.maintenance == "excluded":
        measured -= maintenance
    if mode == "excluded":
        measured -= unmonitored
    unavailable = weighted + unmonitored if mode == "down" else weighted
    return Figures(
        window, measured, maintenance, down, weighted, unavailable, unmonitored, by_priority,
        planned,
    )


@dataclass(frozen=True, slots=True)
class Measurement:
    """What an engine measured for one service, policy and period; `report.py` builds on it."""

    main: Figures  # in-hours scope (everything for 24x7), whole period
    outside: Figures | None  # outside calendar hours, when the policy measures them
    months: tuple[tuple[Interval, Figures], ...]  # in-hours scope per month, if more than one
    interruptions: int
    # counted microseconds (unweighted) of each counted problem, keyed by the problem's
    # (unclipped) start in microseconds
    counted_us: dict[int, int]
    # the same, weighted by affected users (what each row adds to `downtime_seconds`)
    weighted_us: dict[int, Fraction]
    # the timeline bands (start, end, state), computed only when someone draws it
    timeline: Callable[[], Sequence[tuple[datetime, datetime, State]]] = field(
        default=lambda: ()
    )
