"""The HTML report: one self-contained page an SLA manager can open, print or mail.

Why self-contained (inline CSS and SVG, no script, no external asset): the
page is attached to credit claims and archived next to the contract; it must
render the same in five years, offline, in a mail client's viewer.

What it shows per service: the figures the dispute turns on (availability
against target, met or not, error budget, credit, interruptions against the
limit, unmonitored time, the policy version), a timeline of the whole period
drawn from `Report.timeline`, the same timeline folded into one row per
local day (per month for periods longer than a quarter) so a five-minute
outage is visible and not a hairline, and every interval with its reason.

Nothing is computed here: each number comes from the Report, which the
engine built exactly. Percentages are shown truncated to four decimals (never
rounded up, so 99.89996 reads 99.8999 and not a misleading 99.9000); whether
a target was met is the engine's exact decision, printed next to it.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from monitord.sla.desk import desk_sections, heading
from monitord.sla.report import Report, ReportInterval, TimelineBand

# Colour per timeline state: distinct in hue and lightness so a grey-scale print still separates them.
COLOURS: dict[str, str] = {
    "up": "#2ca02c",
    "down": "#d62728",
    "maintenance": "#1f77b4",
    "planned_down": "#9467bd",
    "unmonitored": "#7f7f7f",
    "outside_hours": "#dfe6dc",
    "pending": "#f2f2f2",
}
LABELS: dict[str, str] = {
    "up": "up",
    "down": "downtime",
    "maintenance": "maintenance",
    "planned_down": "down in maintenance (planned)",
    "unmonitored": "unmonitored",
    "outside_hours": "outside measured hours",
    "pending": "not yet happened",
}
WIDTH = 1040  # SVG user units: the drawing scales with the page
MIN_MARK = 2.0  # a non-up band is drawn at least this wide, so a short outage stays visible
DAY_ROWS_UP_TO = timedelta(days=93)

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#222}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 6px}
.sub{color:#555;margin-bottom:12px}
.figs{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0}
.fig{border:1px solid #ccc;border-radius:6px;padding:8px 12px;min-width:130px}
.fig b{display:block;font-size:20px}.fig span{color:#555;font-size:12px}
.ok{color:#1a7f1a}.bad{color:#c01818}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
.legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px;border:1px solid #999}
svg{display:block;max-width:100%}
.customer{font-size:15px;color:#333}
@page{size:A4 landscape;margin:10mm}
@media print{body{margin:0}section{break-before:page}section:first-of-type{break-before:auto}
table.incidents{font-size:11px}tr{break-inside:avoid}}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def pct(value: Fraction | Decimal | None) -> str:
    """Truncated to 4 decimals: display never rounds a miss up into the target."""
    if value is None:
        return "\u2014"  # nobody watched: no figure
    exact = Fraction(value)
    whole = Decimal(exact.numerator) / Decimal(exact.denominator)
    return f"{whole.quantize(Decimal('0.0001'), rounding=ROUND_DOWN)} %"


def duration(seconds: float) -> str:
    """'1d 2h 03m 04s' (negative for an overrun error budget)."""
    sign = "-" if seconds < 0 else ""
    total = abs(seconds)
    whole = int(total)
    frac = total - whole
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    sec = f"{secs + frac:.3f}".rstrip("0").rstrip(".") if frac else str(secs)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours or days else ""]
    parts.append(f"{minutes:02d}m" if hours or days else (f"{minutes}m" if minutes else ""))
    parts.append(f"{sec}s")
    return sign + " ".join(p for p in parts if p)


def _local(value: datetime, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")


def _rect(x: float, y: float, w: float, h: float, state: str, title: str) -> str:
    return (
        f'<rect x="{x:.2f}" y="{y:.2f}" width="{w:.2f}" height="{h:.2f}" '
        f'fill="{COLOURS.get(state, "#000")}"><title>{_e(title)}</title></rect>'
    )


def _bands_svg(
    bands: Sequence[TimelineBand], lo: datetime, hi: datetime, y: float, h: float, tz: ZoneInfo
) -> list[str]:
    """Bands clipped to [lo, hi) as rects in a WIDTH-wide strip; up first, marks on top."""
    span = (hi - lo).total_seconds()
    if span <= 0:
        return []
    under: list[str] = []
    over: list[str] = []
    for b in bands:
        start, end = max(b.start, lo), min(b.end, hi)
        if end <= start:
            continue
        x = (start - lo).total_seconds() / span * WIDTH
        w = (end - start).total_seconds() / span * WIDTH
        title = f"{LABELS.get(b.state, b.state)}: {_local(b.start, tz)} \u2013 {_local(b.end, tz)}"
        if b.state in ("up", "outside_hours", "pending"):
            under.append(_rect(x, y, w, h, b.state, title))
        else:
            w = max(w, MIN_MARK)
            over.append(_rect(min(x, WIDTH - w), y, w, h, b.state, title))
    return under + over


def _ticks(lo: datetime, hi: datetime, tz: ZoneInfo, y: float) -> list[str]:
    """Local midnights (weekly labels) for short periods, month starts for long ones."""
    span = (hi - lo).total_seconds()
    first = lo.astimezone(tz)
    out: list[str] = []
    if hi - lo <= DAY_ROWS_UP_TO:
        day = datetime(first.year, first.month, first.day, tzinfo=tz)
        step, fmt = relativedelta(days=1), "%d %b"
    else:
        day = datetime(first.year, first.month, 1, tzinfo=tz)
        step, fmt = relativedelta(months=1), "%b %Y"
    n = 0
    while day.astimezone(UTC) <= hi:
        t = day.astimezone(UTC)
        if t >= lo:
            x = (t - lo).total_seconds() / span * WIDTH
            out.append(f'<line x1="{x:.2f}" x2="{x:.2f}" y1="{y - 4}" y2="{y}" stroke="#666"/>')
            if step.months or n % 7 == 0:
                anchor = "end" if x > WIDTH - 40 else "start"
                out.append(
                    f'<text x="{x + 2:.2f}" y="{y + 12}" font-size="11" fill="#444" '
                    f'text-anchor="{anchor}">{_e(day.strftime(fmt))}</text>'
                )
            n += 1
        day = day + step
    return out


def overview_svg(r: Report, tz: ZoneInfo) -> str:
    """The whole period in one band, with local date ticks."""
    parts = _bands_svg(r.timeline, r.period_start, r.period_end, 0, 34, tz)
    parts += _ticks(r.period_start, r.period_end, tz, 38)
    return (
        f'<svg class="overview" viewBox="0 -2 {WIDTH} 56" width="{WIDTH}" height="56" '
        f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="timeline of {_e(r.service)}">'
        + "".join(parts)
        + "</svg>"
    )


def _rows(r: Report, tz: ZoneInfo) -> tuple[list[tuple[str, datetime, datetime]], timedelta]:
    """Local days (or months) of the period, each with its label and UTC bounds."""
    first = r.period_start.astimezone(tz)
    if r.period_end - r.period_start <= DAY_ROWS_UP_TO:
        cursor = datetime(first.year, first.month, first.day, tzinfo=tz)
        step, fmt, unit = relativedelta(days=1), "%a %d %b", timedelta(hours=25)
    else:
        cursor = datetime(first.year, first.month, 1, tzinfo=tz)
        step, fmt, unit = relativedelta(months=1), "%b %Y", timedelta(days=31, hours=1)
    rows: list[tuple[str, datetime, datetime]] = []
    while cursor.astimezone(UTC) < r.period_end:
        nxt = cursor + step
        lo = max(cursor.astimezone(UTC), r.period_start)
        hi = min(nxt.astimezone(UTC), r.period_end)
        rows.append((cursor.strftime(fmt), lo, hi))
        cursor = nxt
    return rows, unit


def _hour_ticks(lo: datetime, hi: datetime, y: float, h: float, tz: ZoneInfo) -> list[str]:
    """A tick on each real hour of a day row, longer every six local hours (a DST day has 25)."""
    span = (hi - lo).total_seconds()
    first = lo.replace(minute=0, second=0, microsecond=0)
    if first < lo:
        first += timedelta(hours=1)
    out: list[str] = []
    t = first
    while t < hi:
        x = (t - lo).total_seconds() / span * WIDTH
        major = t.astimezone(tz).hour % 6 == 0
        top = y if major else y + h * 0.6
        out.append(
            f'<line x1="{x:.2f}" x2="{x:.2f}" y1="{top:.2f}" y2="{y + h:.2f}" '
            f'stroke="{"#555" if major else "#999"}" stroke-width="1" '
            'vector-effect="non-scaling-stroke"/>'
        )
        t += timedelta(hours=1)
    return out


def _hour_labels(label_w: float, scale: float, unit: timedelta) -> str:
    """00 06 12 18 above the day rows, on the scale of a 24-hour day."""
    day = timedelta(hours=24) / unit
    return "".join(
        f'<text x="{label_w + hour / 24 * WIDTH * scale * day:.1f}" y="9" font-size="9" '
        f'fill="#555">{hour:02d}</text>'
        for hour in (0, 6, 12, 18)
    )


def rows_svg(r: Report, tz: ZoneInfo) -> str:
    """One thin band per local day (or month), all on one scale: a 25 h DST day is longer."""
    rows, unit = _rows(r, tz)
    days = unit == timedelta(hours=25)
    label_w, row_h, gap = 90, 12, 3
    scale = (WIDTH - label_w) / WIDTH
    parts: list[str] = []
    for i, (label, lo, hi) in enumerate(rows):
        y = i * (row_h + gap)
        parts.append(
            f'<text x="0" y="{y + row_h - 2}" font-size="10" fill="#444">{_e(label)}</text>'
        )
        frac = (hi - lo) / unit
        inner = _bands_svg(r.timeline, lo, hi, y, row_h, tz)
        if days:
            inner += _hour_ticks(lo, hi, y, row_h, tz)
        parts.append(
            f'<g transform="translate({label_w},0) scale({scale * frac:.6f},1)">'
            + "".join(inner)
            + "</g>"
        )
    height = len(rows) * (row_h + gap)
    head = 12 if days else 0
    labels = _hour_labels(label_w, scale, unit) if days else ""
    return (
        f'<svg class="rows" viewBox="0 {-head} {WIDTH} {height + head}" width="{WIDTH}" '
        f'height="{height + head}" xmlns="http://www.w3.org/2000/svg">'
        + f'<g transform="translate(0,{-head})">{labels}</g>'
        + "".join(parts) + "</svg>"
    )


def _fig(title: str, value: str, note: str = "", cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return f'<div class="fig"><span>{_e(title)}</span><b{klass}>{_e(value)}</b><span>{_e(note)}</span></div>'


def _verdict(met: bool | None) -> tuple[str, str]:
    if met is None:
        return "undetermined", "bad"
    return ("met", "ok") if met else ("NOT met", "bad")


def figures_html(r: Report) -> str:
    met, met_cls = _verdict(r.met)
    limit = "no limit" if r.max_interruptions is None else f"limit {r.max_interruptions}"
    budget_note = "left" if r.error_budget_seconds >= 0 else "overrun"
    avail_note = f"target {pct(r.target_percent)}"
    if r.availability_bounds is not None:
        low, high = r.availability_bounds
        avail_note += f"; {pct(low)} to {pct(high)} with the unwatched time"
    credit = pct(r.credit_percent)
    if r.credit_bounds is not None:
        credit = f"{pct(r.credit_bounds[0])} \u2013 {pct(r.credit_bounds[1])}"
    figs = [
        _fig("availability", pct(r.availability), avail_note,
             "ok" if r.availability_met else "bad"),
        _fig("SLA", met, "availability, interruptions, outside hours", met_cls),
        _fig("coverage", pct(r.coverage_percent), "of the time that counts was watched",
             "ok" if r.coverage_percent == 100 else "bad"),
        _fig("error budget", duration(r.error_budget_seconds), budget_note,
             "ok" if r.error_budget_seconds >= 0 else "bad"),
        _fig("service credit", credit, "of the fee",
             "bad" if r.credit_percent or r.credit_bounds else ""),
        _fig("interruptions", str(r.interruptions), limit,
             "ok" if r.interruptions_met else "bad"),
        _fig("downtime", duration(r.downtime_seconds), "counted"),
        _fig("maintenance", duration(r.maintenance_seconds), r.maintenance_treatment),
        _fig("unmonitored", duration(r.unmonitored_seconds), f"counted as {r.unmonitored_treatment}"),
        _fig("policy", f"{r.policy} v{r.policy_version}", f"calendar {r.calendar}"),
    ]
    if r.outside_hours is not None:
        o = r.outside_hours
        figs.insert(1, _fig("outside hours", pct(o.availability), f"target {pct(o.target_percent)}",
                            _verdict(o.met)[1] if o.met is not True else "ok"))
    return '<div class="figs">' + "".join(figs) + "</div>"


def _interval_row(iv: ReportInterval, tz: ZoneInfo) -> str:
    cells = [
        _e(iv.kind),
        _e(_local(iv.start, tz)),
        _e(_local(iv.end, tz)),
        f'<td class="n">{_e(duration(iv.seconds))}</td>',
        f'<td class="n">{_e(duration(iv.counted_seconds))}</td>',
        _e(iv.priority or ""),
        _e(iv.reason),
        _e(str(iv.reports) if iv.reports > 1 else ""),
        _e(iv.note),
    ]
    return "<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in cells) + "</tr>"


def intervals_html(r: Report, tz: ZoneInfo) -> str:
    if not r.intervals:
        return "<p>No downtime, maintenance or unmonitored time in this period.</p>"
    head = "".join(
        f"<th>{h}</th>"
        for h in ("kind", "start", "end", "duration", "counted", "priority", "reason", "reports", "note")
    )
    body = "".join(_interval_row(iv, tz) for iv in r.intervals)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def months_html(r: Report, tz: ZoneInfo) -> str:
    if not r.months:
        return ""
    rows = "".join(
        f"<tr><td>{_e(m.start.astimezone(tz).strftime('%Y-%m'))}</td>"
        f'<td class="n">{_e(pct(m.availability))}</td>'
        f'<td class="n">{_e(duration(m.downtime_seconds))}</td>'
        f'<td class="n">{_e(duration(m.measured_seconds))}</td></tr>'
        for m in r.months
    )
    return (
        "<h3>Per month</h3><table><thead><tr><th>month</th><th>availability</th>"
        f"<th>downtime</th><th>measured</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def legend_html(states: Sequence[str]) -> str:
    items = "".join(
        f'<span><i style="background:{COLOURS[s]}"></i>{_e(LABELS[s])}</span>'
        for s in COLOURS
        if s in states
    )
    return f'<div class="legend">{items}</div>'


def section_html(r: Report, tz: ZoneInfo) -> str:
    states = sorted({b.state for b in r.timeline} | {"up", "down"})
    status = "complete" if r.complete else f"as of {_local(r.as_of, tz)} (period not over)"
    return (
        f'<section id="{_e(r.service)}"><h2>{_e(r.service)}</h2>'
        + heading(r)
        + f'<div class="sub">{_e(r.period_label)}: {_e(_local(r.period_start, tz))} &ndash; '
        f"{_e(_local(r.period_end, tz))} ({_e(duration(r.period_seconds))}), {_e(status)}; "
        f"measured {_e(duration(r.measured_seconds))}</div>"
        + figures_html(r)
        + overview_svg(r, tz)
        + legend_html(states)
        + rows_svg(r, tz)
        + months_html(r, tz)
        + desk_sections(r, tz)
        + "<h3>Intervals</h3>"
        + intervals_html(r, tz)
        + "</section>"
    )


def render_html(reports: Sequence[Report], *, timezone: str = "Europe/Amsterdam") -> str:
    """One page for one or more reports (one section per service); times in `timezone`."""
    tz = ZoneInfo(timezone)
    title = "Availability report"
    if reports:
        title += f" {reports[0].period_label}: " + ", ".join(r.service for r in reports)
    body = "".join(section_html(r, tz) for r in reports) or "<p>No report.</p>"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_e(title)}</h1>"
        f'<div class="sub">Times in {_e(timezone)}. Generated by monitord; every figure is '
        "computed exactly by the SLA engine from the recorded intervals.</div>"
        f"{body}</body></html>\n"
    )
