"""The parts of the HTML report an SLA manager sends a customer: incidents, restore times, review, trend.

Why separate from html.py: that module draws what the engine measured
(figures, timeline); this one lays out what the dispute is about — each
incident with its evidence, tickets, review notes and restore time against
target, the restore targets and the §9 credit, the review with the figures
before it and every audit entry, and the monthly trend of a rolling or
annual period. Nothing is computed here; every value comes from the Report.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from monitord.sla.incidents import Incident, TargetResult
from monitord.sla.report import Report
from monitord.sla.review import describe

WIDTH = 1040


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _short(seconds: float) -> str:
    whole = round(seconds)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h{m:02d}m" + (f"{s:02d}s" if s else "")
    return f"{m}m{s:02d}s" if m else f"{s}s"


def _when(value: datetime, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%a %d %b %H:%M")


def _target(t: TargetResult) -> str:
    mark = {True: "\u2713", False: "\u2717", None: "\u2026"}[t.met]
    clock = "" if t.clock == "clock" else " office"
    return f"\u2264{_short(t.within_seconds)}{clock} {mark}"


def _restore_cell(i: Incident) -> str:
    clocks = ", ".join(
        f"{_short(v)}" + ("" if k == "clock" else " office") for k, v in sorted(i.restore_seconds.items())
    )
    targets = "; ".join(_target(t) for t in i.targets)
    return clocks + (f" ({targets})" if targets else "") + (" open" if i.open else "")


def incidents_html(r: Report, tz: ZoneInfo) -> str:
    incidents = r.incidents
    if not incidents:
        return "<h3>Incidents</h3><p>No incident in this period.</p>"
    head = "".join(
        f"<th>{h}</th>"
        for h in ("start", "end", "duration", "counted", "prio", "reason", "evidence", "checks",
                  "tickets", "review notes", "restore (target)")
    )
    rows = []
    for i in incidents:
        bad = any(t.met is False for t in i.targets)
        cells = [
            _e(_when(i.start, tz)),
            _e(_when(i.end, tz)) + (" (open)" if i.open else ""),
            f'<td class="n">{_e(_short(i.duration_seconds))}</td>',
            f'<td class="n">{_e(_short(i.counted_seconds))}</td>',
            _e(i.priority),
            _e("; ".join(i.reasons)),
            _e("; ".join(i.extra("evidence"))),
            _e(", ".join(i.extra("checks"))),
            _e(", ".join(i.all_tickets)),
            _e("; ".join(i.notes)),
            f'<td class="{"bad" if bad else ""}">{_e(_restore_cell(i))}</td>',
        ]
        rows.append(
            "<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in cells) + "</tr>"
        )
    return (
        f"<h3>Incidents ({len(incidents)})</h3><table class=\"incidents\"><thead><tr>{head}</tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def restore_html(r: Report) -> str:
    s = r.restore
    if s is None:
        return ""
    rows = "".join(
        f"<tr><td>{_e(t.priority)}</td><td>{_e(_short(t.within_seconds))}"
        f"{'' if t.clock == 'clock' else ' (office hours)'}</td>"
        f'<td class="n">{_e(str(t.share_percent))} %</td><td class="n">{t.within} of {t.incidents}'
        f"{f' ({t.pending} open)' if t.pending else ''}</td>"
        f'<td class="{"ok" if t.met else "bad"}">'
        f"{_e({True: 'met', False: 'NOT met', None: 'undetermined'}[t.met])}</td></tr>"
        for t in s.targets
    )
    credit = ""
    if s.credit_percent:
        starts = ", ".join(d.strftime("%Y-%m-%d %H:%M UTC") for d in s.credit_due_for)
        credit = (f'<p class="bad">Restore-time credit due: {_e(str(s.credit_percent))} % of the'
                  f" monthly fee (incident(s) starting {_e(starts)}).</p>")
    return (
        "<h3>Restore-time targets</h3><table><thead><tr><th>priority</th><th>within</th>"
        "<th>share required</th><th>restored within</th><th>result</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>{credit}"
    )


def review_html(r: Report, tz: ZoneInfo) -> str:
    if not r.review_log:
        return ""
    b = r.before_review
    from monitord.sla.html import pct

    before = ""
    if b is not None:
        before = (
            "<table><thead><tr><th></th><th>availability</th><th>downtime</th><th>interruptions</th>"
            "<th>SLA</th></tr></thead><tbody>"
            f"<tr><td>before review</td><td class=\"n\">{_e(pct(b.availability))}</td>"
            f'<td class="n">{_e(_short(b.downtime_seconds))}</td><td class="n">{b.interruptions}</td>'
            f"<td>{_e({True: 'met', False: 'NOT met', None: 'undetermined'}[b.met])}</td></tr>"
            f"<tr><td>reviewed (version {r.review_version})</td>"
            f'<td class="n">{_e(pct(r.availability))}</td>'
            f'<td class="n">{_e(_short(r.downtime_seconds))}</td><td class="n">{r.interruptions}</td>'
            f"<td>{_e({True: 'met', False: 'NOT met', None: 'undetermined'}[r.met])}</td></tr>"
            "</tbody></table>"
        )
    log = "".join(
        f"<tr><td>{e.id}</td><td>{_e(e.at.astimezone(tz).strftime('%Y-%m-%d %H:%M'))}</td>"
        f"<td>{_e(e.who)}</td><td>{_e(describe(e))}</td></tr>"
        for e in r.review_log
    )
    return (
        f"<h3>Review (version {r.review_version})</h3>{before}"
        "<table><thead><tr><th>#</th><th>when</th><th>who</th><th>what, and why</th></tr></thead>"
        f"<tbody>{log}</tbody></table>"
    )


def trend_svg(r: Report, tz: ZoneInfo) -> str:
    """The monthly availability of a rolling or annual period as bars against the target."""
    months = list(r.months)
    if len(months) < 2:
        return ""
    target = float(r.target_percent)
    values = [m.availability_float for m in months]
    known = [v for v in values if v is not None]
    floor = min([target, *known]) if known else target
    floor = max(0.0, min(floor - (100 - floor) * 0.5, target - 0.05))
    h, top, label_h = 120, 8, 16
    bar_w = WIDTH / len(months)
    parts: list[str] = []
    for i, (m, v) in enumerate(zip(months, values, strict=True)):
        x = i * bar_w + 4
        label = m.start.astimezone(tz).strftime("%b %y")
        parts.append(
            f'<text x="{x + bar_w / 2 - 4:.1f}" y="{h + label_h}" font-size="10" '
            f'text-anchor="middle" fill="#444">{_e(label)}</text>'
        )
        if v is None:
            parts.append(f'<text x="{x + bar_w / 2 - 4:.1f}" y="{h - 4}" font-size="10" '
                         'text-anchor="middle" fill="#7f7f7f">unwatched</text>')
            continue
        frac = (v - floor) / (100 - floor) if floor < 100 else 1.0
        bh = max(1.0, frac * (h - top))
        colour = "#2ca02c" if v >= target else "#d62728"
        parts.append(
            f'<rect x="{x:.1f}" y="{h - bh:.1f}" width="{bar_w - 8:.1f}" height="{bh:.1f}" '
            f'fill="{colour}"><title>{_e(label)}: {v:.4f} %</title></rect>'
        )
    ty = h - (target - floor) / (100 - floor) * (h - top) if floor < 100 else top
    parts.append(f'<line x1="0" x2="{WIDTH}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#222" '
                 'stroke-dasharray="4 3"/>')
    parts.append(f'<text x="{WIDTH - 2}" y="{ty - 3:.1f}" font-size="10" text-anchor="end">'
                 f"target {target:g} %</text>")
    return (
        f"<h3>Trend per month</h3><svg class=\"trend\" viewBox=\"0 0 {WIDTH} {h + label_h + 4}\" "
        f'width="{WIDTH}" height="{h + label_h + 4}" xmlns="http://www.w3.org/2000/svg">'
        + "".join(parts) + "</svg>"
    )


def heading(r: Report) -> str:
    """Customer and contract, when configured, above a service's section."""
    text = " \u2014 ".join(p for p in (r.customer, r.contract) if p)
    return f'<div class="sub customer">{_e(text)}</div>' if text else ""


def desk_sections(r: Report, tz: ZoneInfo) -> str:
    return trend_svg(r, tz) + incidents_html(r, tz) + restore_html(r) + review_html(r, tz)


__all__: Sequence[str] = ("desk_sections", "heading", "incidents_html", "trend_svg")
