"""JSON and CSV renderings of a Report (the HTML timeline builds on `report_to_dict`).

Field names are fixed by issue 5 item 6 (`service`, `period_start`, ...
`intervals`); more fields are added, none renamed. Seconds are rounded to the
microsecond, percentages printed with their exact value to 10 decimals, and
timestamps are ISO-8601 with offset (UTC).

One shape: JSON output is always a list of report objects, for one service
or a thousand. It is written as it is computed (`write_json`), one report
per line when there are several, so a fleet's output never sits in memory
whole. `summary=True` leaves out the long lists (`incidents`, `intervals`,
`timeline`), which is what a fleet overview wants (and costs most to build).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any, TextIO

from monitord.sla.incidents import Incident, RestoreSummary
from monitord.sla.report import Report, ReportInterval, ScopeFigures
from monitord.sla.review import describe


def percent(value: Fraction | Decimal) -> float:
    return round(float(value), 10)


def maybe_percent(value: Fraction | Decimal | None) -> float | None:
    """None stays null in JSON: an undetermined figure is not a number."""
    return None if value is None else round(float(value), 10)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 10)


def _bounds(value: tuple[Fraction, Fraction] | None) -> list[float] | None:
    return None if value is None else [percent(value[0]), percent(value[1])]


@lru_cache(maxsize=65536)
def _ts(value: datetime) -> str:
    """Cached: a fleet's reports share their period and month bounds."""
    return value.astimezone(UTC).isoformat()


def _interval(iv: ReportInterval) -> dict[str, Any]:
    return {
        "kind": iv.kind,
        "start": _ts(iv.start),
        "end": _ts(iv.end),
        "seconds": iv.seconds,
        "counted_seconds": iv.counted_seconds,
        "weighted_seconds": iv.weighted_seconds,
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
        "availability_percent": maybe_percent(s.availability),
        "target_percent": percent(s.target_percent),
        "met": s.met,
        "coverage_percent": percent(s.coverage_percent),
        "availability_bounds_percent": _bounds(s.availability_bounds),
    }


def _restore(s: RestoreSummary) -> dict[str, Any]:
    return {
        "met": s.met,
        "credit_percent": percent(s.credit_percent),
        "credit_due_for": [_ts(t) for t in s.credit_due_for],
        "targets": [
            {
                "priority": t.priority,
                "within_seconds": t.within_seconds,
                "clock": t.clock,
                "share_percent": percent(t.share_percent),
                "incidents": t.incidents,
                "within": t.within,
                "pending": t.pending,
                "achieved_percent": maybe_percent(t.share),
                "met": t.met,
            }
            for t in s.targets
        ],
    }


def _review(r: Report) -> dict[str, Any] | None:
    if not r.review_log:
        return None
    b = r.before_review
    return {
        "version": r.review_version,
        "before": None if b is None else {
            "availability_percent": maybe_percent(b.availability),
            "downtime_seconds": b.downtime_seconds,
            "downtime_by_priority": b.downtime_by_priority,
            "interruptions": b.interruptions,
            "met": b.met,
            "credit_percent": maybe_percent(b.credit_percent),
        },
        "log": [
            {
                "id": e.id, "at": _ts(e.at), "who": e.who, "action": e.action,
                "targets": list(e.targets),
                "start": None if e.start is None else _ts(e.start),
                "end": None if e.end is None else _ts(e.end),
                "value": e.value, "reason": e.reason, "what": describe(e),
            }
            for e in r.review_log
        ],
    }


def _incident(i: Incident) -> dict[str, Any]:
    extras: Sequence[tuple[str, str]]
    if len(i.members) == 1 and not i.tickets:  # most incidents: `Incident`'s lists of one
        d = i.members[0]
        extras = d.extra
        reasons = [d.reason] if d.reason else []
        sources = [d.source] if d.source else []
        tickets = [d.ticket] if d.ticket else []
    else:
        extras = [kv for d in i.members for kv in d.extra]
        reasons, sources, tickets = list(i.reasons), list(i.sources), list(i.all_tickets)
    return {
        "start": _ts(i.start),
        "end": _ts(i.end),
        "open": i.open,
        "duration_seconds": round(i.duration_seconds, 6),
        "counted_seconds": round(i.counted_seconds, 6),
        "weighted_seconds": None if i.weighted_seconds is None else round(i.weighted_seconds, 6),
        "priority": i.priority,
        "reasons": reasons,
        "evidence": _extra(extras, "evidence"),
        "checks": _extra(extras, "checks"),
        "tickets": tickets,
        "notes": list(i.notes),
        "sources": sources,
        "extra": {k: v for k, v in extras if k not in ("evidence", "checks")} if extras else {},
        "restore_start": _ts(i.restore_start),
        "restore_seconds": {k: round(v, 6) for k, v in sorted(i.restore_seconds.items())},
        "targets": [
            {"within_seconds": t.within_seconds, "clock": t.clock, "met": t.met} for t in i.targets
        ],
    }


def _extra(extras: Sequence[tuple[str, str]], key: str) -> list[str]:
    """`Incident.extra(key)` over the members' extra pairs, gathered once per incident."""
    return list(dict.fromkeys(v for k, v in extras if k == key and v)) if extras else []


def report_to_dict(r: Report, *, summary: bool = False) -> dict[str, Any]:
    """The report as JSON-ready data; `summary` leaves out the lists (incidents, intervals, timeline).

    A fleet's full output is written by `jsontext.FleetText`, which shares rows' text.
    """
    out = {
        "service": r.service,
        "customer": r.customer,
        "contract": r.contract,
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
        "coverage_percent": percent(r.coverage_percent),
        "availability_percent": maybe_percent(r.availability),
        "availability_decided_percent": maybe_percent(r.availability_decided),
        "availability_bounds_percent": _bounds(r.availability_bounds),
        "target_percent": percent(r.target_percent),
        "availability_met": r.availability_met,
        "met": r.met,
        "verdict": r.verdict,
        "error_budget_seconds": r.error_budget_seconds,
        "interruptions": r.interruptions,
        "max_interruptions": r.max_interruptions,
        "interruptions_met": r.interruptions_met,
        "credit_percent": maybe_percent(r.credit_percent),
        "credit_bounds_percent": _bounds(r.credit_bounds),
        "outside_hours": None if r.outside_hours is None else _scope(r.outside_hours),
        "months": [
            {
                "start": _ts(m.start),
                "end": _ts(m.end),
                "measured_seconds": m.measured_seconds,
                "downtime_seconds": m.downtime_seconds,
                "availability_percent": _round(m.availability_float),
                "unmonitored_seconds": m.unmonitored_seconds,
            }
            for m in r.months
        ],
    }
    out["restore"] = None if r.restore is None else _restore(r.restore)
    out["review"] = _review(r)
    if not summary:
        out["incidents"] = [_incident(i) for i in r.incidents]
        out["intervals"] = [_interval(iv) for iv in r.intervals]
        out["timeline"] = [
            {"start": _ts(b.start), "end": _ts(b.end), "state": b.state} for b in r.timeline
        ]
    return out


def write_json(reports: Iterable[Report], out: TextIO, *, summary: bool = False) -> int:
    """Stream a JSON list of reports to `out`; returns how many were written.

    The first report is held back until the second arrives: a single report
    is indented for people, several are one line each (compact and
    line-oriented for programs).
    """
    it = iter(reports)
    first = next(it, None)
    if first is None:
        out.write("[]\n")
        return 0
    second = next(it, None)
    if second is None:
        body = json.dumps(report_to_dict(first, summary=summary), indent=2, ensure_ascii=False)
        out.write("[\n" + body + "\n]\n")
        return 1
    from monitord.sla.jsontext import FleetText  # it builds on this module's rows

    count = 0
    fleet = FleetText()
    for r in itertools.chain((first, second), it):
        out.write("[\n" if count == 0 else ",\n")
        out.write(
            json.dumps(report_to_dict(r, summary=True), ensure_ascii=False)
            if summary
            else fleet.encode(r)
        )
        count += 1
    out.write("\n]\n")
    return count


def render_json(reports: Sequence[Report], *, summary: bool = False) -> str:
    """`write_json` into a string."""
    buf = io.StringIO()
    write_json(reports, buf, summary=summary)
    return buf.getvalue()


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
    "coverage_percent",
    "availability_percent",
    "target_percent",
    "met",
    "verdict",
    "error_budget_seconds",
    "interruptions",
    "max_interruptions",
    "credit_percent",
    "outside_hours_availability_percent",
    "outside_hours_target_percent",
)


INCIDENT_FIELDS = (
    "service",
    "customer",
    "contract",
    "policy",
    "policy_version",
    "period",
    "availability_percent",
    "target_percent",
    "verdict",
    "incident_start",
    "incident_end",
    "open",
    "duration_seconds",
    "counted_seconds",
    "weighted_seconds",
    "priority",
    "reasons",
    "evidence",
    "checks",
    "tickets",
    "review_notes",
    "restore_seconds",
    "restore_clock",
    "restore_met",
    "extra",
)


def write_csv(reports: Iterable[Report], out: TextIO, *, summary: bool = False) -> None:
    """Spreadsheets: one row per incident (a report without one still gets a row, its
    incident columns empty); with `summary`, one row of figures per report."""
    if summary:
        _write_summary_csv(reports, out)
        return
    writer = csv.DictWriter(out, fieldnames=INCIDENT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in reports:
        head = {
            "service": r.service, "customer": r.customer, "contract": r.contract,
            "policy": r.policy, "policy_version": r.policy_version, "period": r.period_label,
            "availability_percent": maybe_percent(r.availability),
            "target_percent": percent(r.target_percent), "verdict": r.verdict,
        }
        if not r.incidents:
            writer.writerow({k: "" if v is None else v for k, v in head.items()})
        for i in r.incidents:
            d = _incident(i)
            clock = "office" if "office" in d["restore_seconds"] else "clock"
            met = [t["met"] for t in d["targets"]]
            row = {
                **head,
                "incident_start": d["start"], "incident_end": d["end"], "open": d["open"],
                "duration_seconds": d["duration_seconds"], "counted_seconds": d["counted_seconds"],
                "weighted_seconds": d["weighted_seconds"], "priority": d["priority"],
                "reasons": "; ".join(d["reasons"]), "evidence": "; ".join(d["evidence"]),
                "checks": "; ".join(d["checks"]), "tickets": "; ".join(d["tickets"]),
                "review_notes": "; ".join(d["notes"]),
                "restore_seconds": d["restore_seconds"].get(clock), "restore_clock": clock,
                "restore_met": "" if not met else (
                    "no" if False in met else ("open" if None in met else "yes")),
                "extra": "; ".join(f"{k}={v}" for k, v in d["extra"].items()),
            }
            writer.writerow({k: "" if v is None else v for k, v in row.items()})


def _write_summary_csv(reports: Iterable[Report], out: TextIO) -> None:
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in reports:
        d = report_to_dict(r, summary=True)
        row = {k: d[k] for k in CSV_FIELDS if k in d}
        for p, seconds in r.downtime_by_priority.items():
            row[f"downtime_{p}_seconds"] = seconds
        outside = d["outside_hours"]
        row["outside_hours_availability_percent"] = outside and outside["availability_percent"]
        row["outside_hours_target_percent"] = outside and outside["target_percent"]
        writer.writerow({k: "" if v is None else v for k, v in row.items()})


def render_csv(reports: Sequence[Report], *, summary: bool = False) -> str:
    buf = io.StringIO()
    write_csv(reports, buf, summary=summary)
    return buf.getvalue()
