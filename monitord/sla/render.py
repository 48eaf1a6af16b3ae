"""JSON and CSV renderings of a Report (the HTML timeline builds on `report_to_dict`).

Field names are fixed by issue 5 item 6 (`service`, `period_start`, ...
`intervals`); more fields are added, none renamed. Seconds are rounded to the
microsecond, percentages printed with their exact value to 10 decimals, and
timestamps are ISO-8601 with offset (UTC).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from monitord.sla.report import Report, ReportInterval, ScopeFigures


def percent(value: Fraction | Decimal) -> float:
    return round(float(value), 10)


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _interval(iv: ReportInterval) -> dict[str, Any]:
    return {
        "kind": iv.kind,
        "start": _ts(iv.start),
        "end": _ts(iv.end),
        "seconds": iv.seconds,
        "counted_seconds": iv.counted_seconds,
        "priority": iv.priority,
        "reason": iv.reason,
        "reports": iv.reports,
        "users": iv.users,
        "note": iv.note,
    }


def _scope(s: ScopeFigures) -> dict[str, Any]:
    return {
        "measured_seconds": s.measured_seconds,
        "maintenance_seconds": s.maintenance_seconds,
        "downtime_seconds": s.downtime_seconds,
        "unmonitored_seconds": s.unmonitored_seconds,
        "availability_percent": percent(s.availability),
        "target_percent": percent(s.target_percent),
        "met": s.met,
    }


def report_to_dict(r: Report) -> dict[str, Any]:
    return {
        "service": r.service,
        "policy": r.policy,
        "policy_version": r.policy_version,
        "period": r.period_label,
        "period_kind": r.period_kind,
        "period_start": _ts(r.period_start),
        "period_end": _ts(r.period_end),
        "as_of": _ts(r.as_of),
        "complete": r.complete,
        "period_seconds": r.period_seconds,
        "calendar": r.calendar,
        "maintenance_treatment": r.maintenance_treatment,
        "unmonitored_treatment": r.unmonitored_treatment,
        "measured_seconds": r.measured_seconds,
        "maintenance_seconds": r.maintenance_seconds,
        "downtime_seconds": r.downtime_seconds,
        "downtime_by_priority": r.downtime_by_priority,
        "downtime_user_seconds": r.downtime_user_seconds,
        "unmonitored_seconds": r.unmonitored_seconds,
        "availability_percent": percent(r.availability),
        "availability_decided_percent": percent(r.availability_decided),
        "target_percent": percent(r.target_percent),
        "availability_met": r.availability_met,
        "met": r.met,
        "error_budget_seconds": r.error_budget_seconds,
        "interruptions": r.interruptions,
        "max_interruptions": r.max_interruptions,
        "interruptions_met": r.interruptions_met,
        "credit_percent": percent(r.credit_percent),
        "outside_hours": None if r.outside_hours is None else _scope(r.outside_hours),
        "months": [
            {
                "start": _ts(m.start),
                "end": _ts(m.end),
                "measured_seconds": m.measured_seconds,
                "downtime_seconds": m.downtime_seconds,
                "availability_percent": percent(m.availability),
            }
            for m in r.months
        ],
        "intervals": [_interval(iv) for iv in r.intervals],
        "timeline": [
            {"start": _ts(b.start), "end": _ts(b.end), "state": b.state} for b in r.timeline
        ],
    }


def render_json(reports: Sequence[Report]) -> str:
    """One report renders as an object (the fixed schema), several as a list of them."""
    data: Any = report_to_dict(reports[0]) if len(reports) == 1 else [
        report_to_dict(r) for r in reports
    ]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


CSV_FIELDS = (
    "service",
    "policy",
    "policy_version",
    "period",
    "period_start",
    "period_end",
    "complete",
    "period_seconds",
    "measured_seconds",
    "maintenance_seconds",
    "downtime_seconds",
    "downtime_P1_seconds",
    "downtime_P2_seconds",
    "downtime_P3_seconds",
    "downtime_P4_seconds",
    "unmonitored_seconds",
    "availability_percent",
    "target_percent",
    "met",
    "error_budget_seconds",
    "interruptions",
    "max_interruptions",
    "credit_percent",
    "outside_hours_availability_percent",
    "outside_hours_target_percent",
    "intervals",
)


def render_csv(reports: Sequence[Report]) -> str:
    """One summary row per report (spreadsheets); intervals are counted, listed in JSON."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in reports:
        d = report_to_dict(r)
        row = {k: d[k] for k in CSV_FIELDS if k in d}
        for p, seconds in r.downtime_by_priority.items():
            row[f"downtime_{p}_seconds"] = seconds
        row["intervals"] = len(r.intervals)
        outside = d["outside_hours"]
        row["outside_hours_availability_percent"] = outside and outside["availability_percent"]
        row["outside_hours_target_percent"] = outside and outside["target_percent"]
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buf.getvalue()
