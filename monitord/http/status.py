"""The status page at `/` and the runbook at `/runbook`: read-only HTML for people.

Why server-rendered with no script: it is the page a newcomer opens from the
demo and a NOC screen leaves open; it must work in any browser, offline from
the internet, with nothing to build. It reloads itself every 30 s (a meta
refresh). Everything on it comes from the same places as the JSON API: the
live view the event stream keeps (states, last results, maintenance), the
store for open intervals, the supervisor's health. Alerts link here: a
service alert's generatorURL is `/#service-<name>`.

The runbook (`runbook.md` beside this module, a section per alert) is
rendered from a small Markdown subset: headings, paragraphs, lists, inline
code and links.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from importlib import resources
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web

from monitord.core.events import CheckState
from monitord.http.context import CTX, ApiContext
from monitord.storage.records import DowntimeRecord

__all__ = ["STATE_COLOURS", "register", "render_markdown", "render_status"]

STATE_COLOURS = {
    "up": "#2ca02c",
    "failing": "#e6b800",
    "alerting": "#ff7f0e",
    "down": "#d62728",
    "maintenance": "#1f77b4",
}
REFRESH_SECONDS = 30

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:20px;color:#222}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:22px 0 6px}
.sub{color:#555}a{color:#1456a0}
table{border-collapse:collapse;width:100%;margin-top:4px}
th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pill{display:inline-block;min-width:72px;text-align:center;color:#fff;border-radius:10px;
padding:1px 8px;font-weight:600}
.detail{color:#555;max-width:520px;overflow-wrap:anywhere}
.links a{margin-right:14px}.bad{color:#b00020;font-weight:600}.ok{color:#2c7a2c;font-weight:600}
code{background:#f4f4f4;padding:0 3px}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _pill(state: str) -> str:
    return f'<span class="pill" style="background:{STATE_COLOURS.get(state, "#7f7f7f")}">{_e(state)}</span>'


def _when(t: datetime | None, tz: ZoneInfo) -> str:
    if t is None:
        return "-"
    local = t.astimezone(tz)
    return f'<time datetime="{_e(t.astimezone(UTC).isoformat())}">{local:%Y-%m-%d %H:%M:%S %Z}</time>'


def _duration(seconds: float) -> str:
    s = int(seconds)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return (f"{d}d " if d else "") + f"{h:02d}:{m:02d}:{s:02d}"


def _link(href: str, text: str) -> str:
    return f'<a href="{_e(href)}">{_e(text)}</a>'


def _services(ctx: ApiContext, tz: ZoneInfo) -> list[str]:
    live = ctx.live
    rows = []
    for name, cfg in live.services.items():
        since = live.service_down_since(name)
        state = _pill("down" if since is not None else "up")
        if live.in_maintenance(name):
            state += " " + _pill("maintenance")
        rule = cfg.down_when if isinstance(cfg.down_when, str) else f"at least {cfg.down_when.at_least}"
        report = (_link(f"/api/v1/reports/{quote(name, safe='')}?format=html", "SLA report")
                  if cfg.sla_policy is not None and ctx.sla is not None else "-")
        down = ", ".join(live.down_checks(name)) or "-"
        rows.append(
            f'<tr id="service-{_e(name)}"><td><b>{_e(name)}</b><div class="detail">'
            f"{_e(cfg.description)}</div></td><td>{state}</td>"
            f"<td>{_when(since, tz)}</td><td>{_e(rule)} of {len(cfg.checks)}</td>"
            f"<td>{_e(down)}</td><td>{report}</td></tr>"
        )
    return rows


def _checks(ctx: ApiContext, tz: ZoneInfo) -> list[str]:
    live = ctx.live
    rows = []
    for name, check in live.checks.items():
        snap = live.snapshots[name]
        last = live.last(name)
        target = getattr(check.config, "target", "")
        target_text = target if isinstance(target, str) else getattr(target, "host", "")
        if last is None:
            result = '<span class="sub">not probed yet</span>'
        elif last.result.ok:
            ms = f" in {last.result.latency * 1000:.1f} ms" if last.result.latency is not None else ""
            result = f'<span class="ok">ok</span>{ms}'
        else:
            reason = last.result.reason.value if last.result.reason else "not judged"
            result = f'<span class="bad">{_e(reason)}</span>'
        detail = last.result.detail if last is not None else ""
        since = snap.downtime_start or snap.streak_start
        api = _link(f"/api/v1/checks/{quote(name, safe='')}", name)
        rows.append(
            f'<tr id="check-{_e(name)}"><td>{api}'
            f'<div class="detail">{_e(check.config.description)}</div></td>'
            f"<td>{_e(check.type)}</td><td class=detail>{_e(target_text)}</td>"
            f"<td>{_pill(snap.state.value)}</td>"
            f"<td>{_when(since, tz) if snap.state is not CheckState.UP else '-'}</td>"
            f'<td class="num">{snap.consecutive_failures}</td>'
            f"<td>{_when(last.at if last else None, tz)}<br>{result}</td>"
            f'<td class="detail">{_e(detail)}</td></tr>'
        )
    return rows


def _open(rows: Sequence[DowntimeRecord], now: datetime, tz: ZoneInfo) -> list[str]:
    out = []
    for d in rows:
        anchor = f"#{d.level}-{quote(d.name, safe='')}"
        out.append(
            f"<tr><td>{_e(d.level)}</td><td>{_link(anchor, d.name)}</td><td>{_when(d.start, tz)}</td>"
            f'<td class="num">{_duration(d.duration_seconds(now))}</td><td>{_e(d.reason)}</td>'
            f'<td class="detail">{_e(d.detail)}</td></tr>'
        )
    return out


def _table(headers: Iterable[str], rows: list[str], empty: str) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(rows) or f'<tr><td colspan="9" class="sub">{_e(empty)}</td></tr>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_status(ctx: ApiContext, open_intervals: Sequence[DowntimeRecord], now: datetime,
                  tz: ZoneInfo) -> str:
    problem = ctx.health.summary()
    health = ('<span class="ok">healthy</span>' if problem is None
              else f'<span class="bad">unhealthy: {_e(problem)}</span>')
    links = [("/api/v1/checks", "checks (JSON)"), ("/api/v1/services", "services"),
             ("/api/v1/downtimes", "downtimes"), ("/api/v1/episodes", "episodes"),
             ("/api/v1/gaps", "unmonitored gaps"), ("/api/v1/events", "events"),
             ("/metrics", "Prometheus metrics"), ("/healthz", "health"), ("/runbook", "runbook")]
    if ctx.sla is not None:
        links[5:5] = [("/api/v1/maintenance", "maintenance windows"),
                      ("/api/v1/availability", "availability (SLA)")]
    nav = "".join(_link(href, text) for href, text in links)
    live = ctx.live
    down = sum(1 for n in live.services if live.service_down_since(n) is not None)
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">'
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>monitord {_e(ctx.site)}: {down} service(s) down</title><style>{_CSS}</style>"
        f"</head><body><h1>monitord &middot; site {_e(ctx.site)}</h1>"
        f'<div class="sub">{_when(now, tz)} &middot; {health} &middot; '
        f"{len(live.checks)} checks, {len(live.services)} services</div>"
        f'<p class="links">{nav}</p>'
        "<h2>Services</h2>"
        + _table(["service", "state", "down since", "down when", "down checks", "report"],
                 _services(ctx, tz), "no services configured")
        + "<h2>Open downtime intervals</h2>"
        + _table(["level", "name", "since", "for", "reason", "detail"],
                 _open(open_intervals, now, tz), "none: nothing is down")
        + "<h2>Checks</h2>"
        + _table(["check", "type", "target", "state", "failing since", "failures",
                  "last probe", "detail"], _checks(ctx, tz), "no checks configured")
        + "</body></html>\n"
    )


# --- the runbook ------------------------------------------------------------------------

_INLINE = re.compile(r"`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\)")


def _inline(text: str) -> str:
    out, pos = [], 0
    for m in _INLINE.finditer(text):
        out.append(_e(text[pos:m.start()]))
        if m.group(1) is not None:
            out.append(f"<code>{_e(m.group(1))}</code>")
        else:
            out.append(_link(m.group(3), m.group(2)))
        pos = m.end()
    out.append(_e(text[pos:]))
    return "".join(out)


def slug(heading: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")


def render_markdown(text: str, title: str) -> str:
    """Headings (`#`, `##`, `###`, with ids), paragraphs, `-` lists, inline code and links."""
    body: list[str] = []
    para: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if para:
            body.append(f"<p>{_inline(' '.join(para))}</p>")
            para.clear()
        if items:
            body.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for raw in text.splitlines():
        line = raw.rstrip()
        heading = re.match(r"^(#{1,3}) (.+)$", line)
        if heading:
            flush()
            level, words = len(heading.group(1)), heading.group(2)
            body.append(f'<h{level} id="{slug(words)}">{_inline(words)}</h{level}>')
        elif line.startswith("- "):
            if para:
                flush()
            items.append(line[2:])
        elif line.startswith("  ") and items:
            items[-1] += " " + line.strip()
        elif not line:
            flush()
        else:
            if items:
                flush()
            para.append(line)
    flush()
    return ("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
            + "".join(body) + "</body></html>\n")


def runbook_text() -> str:
    return resources.files("monitord.http").joinpath("runbook.md").read_text(encoding="utf-8")


# --- handlers -----------------------------------------------------------------------------


async def status_page(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    now = datetime.now(UTC)
    open_intervals = await ctx.store.downtimes(since=now)
    tz = ZoneInfo(ctx.live.timezone)
    return web.Response(text=render_status(ctx, open_intervals, now, tz), content_type="text/html")


async def runbook(request: web.Request) -> web.Response:
    return web.Response(text=render_markdown(runbook_text(), "monitord runbook"),
                        content_type="text/html")


def register(app: web.Application) -> None:
    app.router.add_get("/", status_page)
    app.router.add_get("/runbook", runbook)
