"""The worked examples: intervals per contract, as SLA tooling would export them.

Each list is also stored as fixtures/<contract>.json for `monitord sla
compute`; test_contracts.py checks the two are identical, so the arithmetic
written next to the tests is the arithmetic the CLI reproduces.
"""

from __future__ import annotations

from typing import Any

VOIZXL: list[dict[str, Any]] = [
    # February: 20 min (1,200 s), inside the rolling 12 months to 2026-10
    {
        "service": "voipnow",
        "start": "2026-02-10T10:00:00+01:00",
        "end": "2026-02-10T10:20:00+01:00",
        "reason": "sbc1 timeout",
    },
    # straddles the honoured necessary window (19:00-23:00): 30 min before it counts
    {
        "service": "voipnow",
        "start": "2026-10-09T18:30:00+02:00",
        "end": "2026-10-09T19:30:00+02:00",
        "reason": "db failover",
    },
    # inside the regular window announced only 6 days ahead: the full hour counts
    {
        "service": "voipnow",
        "start": "2026-10-16T21:00:00+02:00",
        "end": "2026-10-16T22:00:00+02:00",
        "reason": "upgrade overran",
    },
]

XELION: list[dict[str, Any]] = [
    # P1 from 18:00 to 20:00: 1 h before the 19:00-23:00 window counts, 1 h is "available"
    {
        "service": "xelion-pbx",
        "start": "2026-10-06T18:00:00+02:00",
        "end": "2026-10-06T20:00:00+02:00",
        "priority": "P1",
        "reason": "tenant down",
    },
    # P2 (one department): 4 h, does not count under a P1-only contract
    {
        "service": "xelion-pbx",
        "start": "2026-10-07T10:00:00+02:00",
        "end": "2026-10-07T14:00:00+02:00",
        "priority": "P2",
        "reason": "one site",
    },
]

XTIUM: list[dict[str, Any]] = [
    # three reports of one problem: union 09:00-10:30 = 5,400 s, counted once
    {
        "service": "xtium-platform",
        "start": "2026-10-20T09:00:00+02:00",
        "end": "2026-10-20T10:00:00+02:00",
        "priority": "P1",
        "reason": "ticket 1001",
    },
    {
        "service": "xtium-platform",
        "start": "2026-10-20T09:10:00+02:00",
        "end": "2026-10-20T10:30:00+02:00",
        "priority": "P1",
        "reason": "ticket 1002",
    },
    {
        "service": "xtium-platform",
        "start": "2026-10-20T09:45:00+02:00",
        "end": "2026-10-20T10:15:00+02:00",
        "priority": "P1",
        "reason": "ticket 1003",
    },
    # P2: 2 h, not counted
    {
        "service": "xtium-platform",
        "start": "2026-10-21T13:00:00+02:00",
        "end": "2026-10-21T15:00:00+02:00",
        "priority": "P2",
        "reason": "ticket 1004",
    },
    # straddles the first-Tuesday window (Tue 6 Oct 23:00-03:00): 30 min before it counts
    {
        "service": "xtium-platform",
        "start": "2026-10-06T22:30:00+02:00",
        "end": "2026-10-06T23:30:00+02:00",
        "priority": "P1",
        "reason": "ticket 1005",
    },
]

VIOMS: list[dict[str, Any]] = [
    # Monday 12 Oct 08:00 CEST + 17 h 42 min = 63,720 s, no service window on Mondays
    {
        "service": "vioms-telephony",
        "start": "2026-10-12T08:00:00+02:00",
        "end": "2026-10-13T01:42:00+02:00",
        "reason": "registrar down",
    },
]

INFRAVISION: list[dict[str, Any]] = [
    # Tue 1 Dec 08:20-08:40: 10 min before 08:30 is outside hours, 10 min inside
    {
        "service": "infravision-iv",
        "start": "2026-12-01T08:20:00+01:00",
        "end": "2026-12-01T08:40:00+01:00",
    },
    # Thu 3 Dec 14:00-14:15: 15 min inside hours
    {
        "service": "infravision-iv",
        "start": "2026-12-03T14:00:00+01:00",
        "end": "2026-12-03T14:15:00+01:00",
    },
    # Tue 8 Dec 17:20-17:50: 10 min inside, 20 min after 17:30
    {
        "service": "infravision-iv",
        "start": "2026-12-08T17:20:00+01:00",
        "end": "2026-12-08T17:50:00+01:00",
    },
    # Fri 25 Dec (Christmas, a public holiday) 10:00-12:00: outside office hours
    {
        "service": "infravision-iv",
        "start": "2026-12-25T10:00:00+01:00",
        "end": "2026-12-25T12:00:00+01:00",
    },
]

OFFICE365: list[dict[str, Any]] = [
    # 2 h x 50 users = 360,000 user-seconds
    {
        "service": "office365",
        "start": "2026-10-05T09:00:00+02:00",
        "end": "2026-10-05T11:00:00+02:00",
        "users": 50,
        "reason": "activation",
    },
    # the day after the clocks went back: 30 min x all 200 users = 360,000 user-seconds
    {
        "service": "office365",
        "start": "2026-10-26T10:00:00+01:00",
        "end": "2026-10-26T10:30:00+01:00",
        "reason": "exchange",
    },
]

EXAMPLES: dict[str, list[dict[str, Any]]] = {
    "voizxl": VOIZXL,
    "xelion": XELION,
    "xtium": XTIUM,
    "vioms": VIOMS,
    "infravision": INFRAVISION,
    "office365": OFFICE365,
}
