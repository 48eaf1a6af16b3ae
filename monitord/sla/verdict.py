"""Coverage and the verdict: what a report may claim about time nobody watched.

Why: a report that says "100 %, complete, met" for a month the daemon
watched for five minutes invents uptime (issue 12). Time nobody watched —
before the first start, between runs, after the last stop, a hole in a
ticket export — is unmonitored, and the policy's `unmonitored` says how to
count it:

- `up`, `down`, `excluded`: the contract says so; the figures follow and the
  verdict is decided on them (the unwatched time is still reported);
- `unknown` (the default): the figures cover the watched time only, and the
  verdict is decided only when it holds whichever way the unwatched time
  went — met if it would be met with all of it down, not met if it would
  fail with all of it up, otherwise *undetermined* (`met: null`). The same
  for the credit (decided when both ends earn the same) and for an
  interruption limit (a gap could hide an interruption).

Coverage is the watched share of the time that counts (the period so far,
in calendar hours, minus excluded maintenance). A report with nothing
watched has no availability at all (null), never 100 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from monitord.sla.availability import Figures
from monitord.sla.config import SlaPolicy
from monitord.sla.credits import as_fraction, credit_percent, rounded

Verdict = str  # "met", "not_met" or "undetermined"


@dataclass(frozen=True, slots=True)
class Judgement:
    availability: Fraction | None  # over the measured time; None: nothing was watched
    decided: Fraction | None  # after the policy's rounding
    met: bool | None  # None: depends on time nobody watched
    bounds: tuple[Fraction, Fraction] | None  # (all unwatched down, all unwatched up) if open
    coverage: Fraction  # percent of the time that counts that was watched


def coverage(f: Figures, policy: SlaPolicy) -> Fraction:
    base = f.window_us - (f.maintenance_us if policy.maintenance == "excluded" else 0)
    if base <= 0:
        return Fraction(100)
    return Fraction((base - f.unmonitored_us) * 100, base)


def availability(f: Figures) -> Fraction | None:
    """The figure's availability, None when nobody watched any of the time that counts."""
    if f.measured_us <= 0 and f.unmonitored_us > 0:
        return None
    return f.availability


def judge(f: Figures, policy: SlaPolicy, target: Fraction) -> Judgement:
    share = coverage(f, policy)
    value = availability(f)
    decided = None if value is None else rounded(value, policy.rounding)
    if policy.unmonitored != "unknown" or f.unmonitored_us == 0:
        met = None if decided is None else decided >= target
        return Judgement(value, decided, met, None, share)
    whole = f.measured_us + f.unmonitored_us
    lost = f.unavailable_us
    best = (whole - lost) * 100 / whole
    worst = (whole - lost - f.unmonitored_us) * 100 / whole
    outcome: bool | None = None
    if rounded(worst, policy.rounding) >= target:
        outcome = True
    elif rounded(best, policy.rounding) < target:
        outcome = False
    return Judgement(value, decided, outcome, (Fraction(worst), Fraction(best)), share)


def credit(j: Judgement, policy: SlaPolicy) -> tuple[Fraction | None, tuple[Fraction, Fraction] | None]:
    """(credit, None) when decided; (None, (lowest, highest)) when it depends on unwatched time."""
    if j.bounds is None:
        if j.decided is None:
            return (Fraction(0), None) if policy.credits is None else (None, None)
        return credit_percent(j.decided, policy.credits), None
    low = credit_percent(rounded(j.bounds[1], policy.rounding), policy.credits)
    high = credit_percent(rounded(j.bounds[0], policy.rounding), policy.credits)
    return (low, None) if low == high else (None, (low, high))


def interruptions_met(count: int, policy: SlaPolicy, unwatched_us: int) -> bool | None:
    limit = policy.max_interruptions
    if limit is None:
        return True
    if count > limit:
        return False
    if policy.unmonitored == "unknown" and unwatched_us > 0:
        return None  # a gap could hide the interruption that breaks the limit
    return True


def combine(*parts: bool | None) -> bool | None:
    """All met -> True; any not met -> False; otherwise undetermined (None)."""
    if any(p is False for p in parts):
        return False
    if any(p is None for p in parts):
        return None
    return True


def verdict(met: bool | None) -> Verdict:
    return {True: "met", False: "not_met", None: "undetermined"}[met]


def target_of(policy: SlaPolicy) -> Fraction:
    return as_fraction(policy.target_percent)
