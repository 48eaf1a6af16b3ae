"""Service credits from an availability figure (sla-rules §7).

Why exact decimals: a credit tier turns on whether 99.9 is "below 99.9". The
availability arrives as an exact fraction and thresholds are the decimals
written in the config, so the boundary is decided without float noise.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from monitord.sla.config import LinearCredit, Rounding, TieredCredit


def as_fraction(value: Decimal | int) -> Fraction:
    return Fraction(value)


def rounded(percent: Fraction, rounding: Rounding | None) -> Fraction:
    """Apply the policy's rounding (none by default) to an availability percentage."""
    if rounding is None:
        return percent
    # on the exact fraction: Decimal division would round first at 28 digits
    scale = 10**rounding.decimals
    scaled = percent * scale
    if rounding.mode == "down":
        whole = math.floor(scaled)
    elif rounding.mode == "half_up":
        whole = math.floor(scaled + Fraction(1, 2))
    else:
        whole = round(scaled)  # Fraction rounds half to even
    return Fraction(whole, scale)


def linear_credit(availability: Fraction, rule: LinearCredit) -> Fraction:
    """VIOMS §8: 5 % of the monthly fee for every 1 % below 99.6 %, at most 60 %.

    Worked: availability 97.5 % is 2.1 points short; `full` counts 2 steps
    (10 %), `started` counts 3 (15 %).
    """
    shortfall = as_fraction(rule.threshold_percent) - availability
    if shortfall <= 0:
        return Fraction(0)
    steps_exact = shortfall / as_fraction(rule.step_percent)
    steps = math.floor(steps_exact) if rule.count == "full" else math.ceil(steps_exact)
    return min(as_fraction(rule.cap_percent), steps * as_fraction(rule.percent_per_step))


def tiered_credit(availability: Fraction, rule: TieredCredit) -> Fraction:
    """Xelion §3.5 / Office 365: the largest credit whose threshold the figure is strictly below."""
    earned = [
        as_fraction(t.credit_percent)
        for t in rule.tiers
        if availability < as_fraction(t.below_percent)
    ]
    return min(as_fraction(rule.cap_percent), max(earned, default=Fraction(0)))


def credit_percent(availability: Fraction, rule: LinearCredit | TieredCredit | None) -> Fraction:
    if rule is None:
        return Fraction(0)
    if isinstance(rule, LinearCredit):
        return linear_credit(availability, rule)
    return tiered_credit(availability, rule)
