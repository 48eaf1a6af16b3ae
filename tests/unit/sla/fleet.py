"""A seeded fleet workload (issue 18): N services, 13 months of outages, every policy kind.

Shared by the equivalence test (old figures == new figures on a sample) and
`bench/sla_report.py` (the full 1,000 services). Deterministic: the same
seed gives the same config and the same intervals file byte for byte.

Shape, per service and month: about two outages (exponential, median about
ten minutes, some of hours), mostly P1, some P2/P3, a few with affected
users, now and then a second report of the same problem overlapping the
first. Daemon restarts (unmonitored gaps) hit the whole fleet. Maintenance:
a weekend service window for everyone, a monthly RRULE window for a third of
the fleet, evening windows for another group, and one-off windows (some
announced too late for the policy's notice).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

AMS = ZoneInfo("Europe/Amsterdam")
MONTHS = 13
LAST_MONTH = "2026-11"  # the period asked for; the data starts 12 months earlier
FIRST = datetime(2025, 11, 1, tzinfo=AMS).astimezone(UTC)
END = datetime(2026, 12, 1, tzinfo=AMS).astimezone(UTC)
NOW = "2026-12-05T00:00:00+00:00"  # every period asked for is over

# One policy per kind the issue measures, plus the other contract shapes of sla-rules §4.
# `unmonitored` is explicit: the figures compared must not depend on a default.
POLICIES: dict[str, dict[str, Any]] = {
    "month": {
        "target_percent": 99.6,
        "period": "month",
        "maintenance": "excluded",
        "unmonitored": "up",
        "credits": {"type": "linear", "threshold_percent": 99.6, "percent_per_step": 5,
                    "cap_percent": 60},
    },
    "rolling": {
        "target_percent": 99.95,
        "period": "rolling_12_months",
        "maintenance": "excluded",
        "unmonitored": "up",
        "min_notice": {"regular": "14d", "necessary": "24h", "urgent": "1h"},
    },
    "office": {
        "target_percent": 99.5,
        "period": "month",
        "calendar": "office",
        "outside_target_percent": 95,
        "max_interruptions": 3,
        "unmonitored": "down",
    },
    "contract": {
        "target_percent": 99.9,
        "period": "contract_year",
        "contract_start": "2025-12-01",
        "maintenance": "counts_as_up",
        "downtime_counts": ["P1"],
        "unmonitored": "excluded",
        "credits": {"type": "tiers", "tiers": [
            {"below_percent": 99.9, "credit_percent": 25},
            {"below_percent": 99.8, "credit_percent": 50},
            {"below_percent": 99.7, "credit_percent": 100},
        ]},
    },
    "users": {
        "target_percent": 99.9,
        "period": "month",
        "unmonitored": "up",
        "weighting": {"total_users": 500},
        "rounding": {"decimals": 2, "mode": "down"},
        "credits": {"type": "tiers", "tiers": [
            {"below_percent": 99.9, "credit_percent": 25},
            {"below_percent": 99, "credit_percent": 50},
        ]},
    },
}
KINDS = tuple(POLICIES)


def service_names(n: int) -> list[str]:
    return [f"svc-{i:04d}" for i in range(n)]


def _iso(t: datetime) -> str:
    return t.isoformat()


@dataclass(frozen=True)
class Fleet:
    config: dict[str, Any]
    intervals: list[dict[str, Any]]


def fleet(
    n: int = 1000,
    *,
    seed: int = 18,
    policy: str | None = None,
    evenings: bool = True,
    one_offs: int = 60,
) -> Fleet:
    """The workload; `policy` gives every service that policy, else they take turns.

    `evenings` adds a Mon-Fri 19:00-23:00 window (260 a year) for a third of
    the fleet and `one_offs` one-off windows: the heavy maintenance shape the
    equivalence sample uses. The issue's own measurement names no maintenance;
    `bench/sla_report.py` runs both shapes.
    """
    rng = random.Random(seed)
    names = service_names(n)
    span = (END - FIRST).total_seconds()
    intervals: list[dict[str, Any]] = []
    for name in names:
        count = round(MONTHS * rng.uniform(1.2, 2.5))
        for _ in range(count):
            start = FIRST + timedelta(seconds=rng.uniform(0, span))
            start = start.replace(microsecond=rng.choice([0, 0, 0, rng.randrange(1_000_000)]))
            seconds = min(rng.expovariate(1 / 900), 6 * 3600) + rng.uniform(5, 60)
            end = start + timedelta(seconds=round(seconds, rng.choice([0, 0, 3])))
            item: dict[str, Any] = {"service": name, "start": _iso(start), "end": _iso(end)}
            roll = rng.random()
            if roll < 0.10:
                item["priority"] = "P2"
            elif roll < 0.14:
                item["priority"] = "P3"
            if rng.random() < 0.1:
                item["users"] = rng.randrange(1, 600)
            if rng.random() < 0.6:
                item["reason"] = rng.choice(["timeout", "refused", "status_not_accepted: 503",
                                             "sbc1 no answer", "ticket"])
            intervals.append(item)
            if rng.random() < 0.05:  # a second report of the same problem
                later = start + timedelta(seconds=rng.uniform(0, seconds))
                intervals.append({
                    "service": name, "start": _iso(later),
                    "end": _iso(end + timedelta(seconds=rng.uniform(-30, 600))),
                    "reason": "duplicate report",
                })
    for _ in range(6):  # daemon restarts: the whole fleet unwatched for a while
        start = FIRST + timedelta(seconds=rng.uniform(0, span))
        intervals.append({"kind": "unmonitored", "start": _iso(start),
                          "end": _iso(start + timedelta(seconds=rng.uniform(1, 5400))),
                          "reason": "unclean_shutdown"})
    for name in rng.sample(names, max(1, n // 50)):  # one service's data hole
        start = FIRST + timedelta(seconds=rng.uniform(0, span))
        intervals.append({"kind": "unmonitored", "service": name, "start": _iso(start),
                          "end": _iso(start + timedelta(seconds=rng.uniform(60, 7200))),
                          "reason": "export hole"})
    intervals.sort(key=lambda i: (i["start"], i.get("service", "")))
    windows = []
    for w in range(one_offs):
        start = (FIRST + timedelta(days=rng.uniform(0, span / 86400))).astimezone(AMS)
        start = start.replace(minute=0, second=0, microsecond=0)
        kind = rng.choice(["regular", "necessary", "urgent"])
        ahead = timedelta(days=rng.choice([0.5, 2, 10, 20]))
        windows.append({
            "name": f"one-off-{w}", "kind": kind,
            "services": rng.sample(names, rng.randrange(1, min(n, 40) + 1)),
            "start": _iso(start), "end": _iso(start + timedelta(hours=rng.choice([1, 2, 4]))),
            "announced_at": _iso(start - ahead),
        })
    third = len(names) // 3
    config: dict[str, Any] = {
        "checks": [{"name": "probe", "type": "sip_options", "target": "sip:127.0.0.1:5060"}],
        "services": [
            {"name": name, "checks": ["probe"],
             "sla_policy": policy or KINDS[i % len(KINDS)]}
            for i, name in enumerate(names)
        ],
        "calendars": [{"name": "office", "hours": ["mon-fri 08:30-17:30"], "holidays": "NL"}],
        "sla_policies": [{"name": k, **v} for k, v in POLICIES.items()],
        "maintenance": {
            "recurring": [
                {"name": "weekend", "weekly": ["sat,sun 01:00-05:00"]},
                {"name": "monthly", "services": names[:third], "rrule": "FREQ=MONTHLY;BYDAY=1TU",
                 "start": "2025-01-07T23:00:00", "duration": "4h"},
                *([{"name": "evenings", "services": names[third:2 * third],
                    "weekly": ["mon-fri 19:00-23:00"], "kind": "necessary"}] if evenings else []),
            ],
            "windows": windows,
        },
    }
    return Fleet(config, intervals)
