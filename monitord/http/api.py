"""HTTP: /metrics, /healthz and the read-only JSON API (v1).

Timestamps are ISO-8601 with an explicit UTC offset. Bad query parameters get
a 400 with a JSON body naming the parameter; nothing a client sends can take
the daemon down.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from monitord.errors import ApiRequestError
from monitord.http import fleet, status
from monitord.http.context import CTX, ApiContext, iso
from monitord.http.fleet import evidence_json, subject_gap_json
from monitord.http.inputs import check_text, parse_instant
from monitord.storage.interface import FleetRecordReader
from monitord.storage.records import DowntimeRecord


def parse_time(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    # '+' arrives as a space when the client did not escape it
    return parse_instant(raw.replace(" ", "+"), f"parameter {name!r}")


def downtime_json(d: DowntimeRecord, now: datetime) -> dict[str, Any]:
    return {
        "id": d.id,
        "level": d.level,
        d.level: d.name,
        "start": iso(d.start),
        "end": iso(d.end),
        "open": d.end is None,
        "duration_seconds": round(d.duration_seconds(now), 6),
        "reason": d.reason,
        "detail": d.detail,
        "confirmed_at": iso(d.confirmed_at),
        "end_cause": d.end_cause,
    }


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiRequestError as exc:
        return web.json_response({"error": str(exc)}, status=400)


async def metrics(request: web.Request) -> web.Response:
    # Off the loop: tens of ms at 10,000 checks (monitord/sinks/checkseries.py). A fleet
    # agent's series all name its location and site.
    ctx = request.app[CTX]
    body = await asyncio.to_thread(ctx.metrics.render, ctx.metric_labels)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def healthz(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    problem = ctx.health.summary()
    body = {
        "status": "ok" if problem is None else "unhealthy",
        "problem": problem,
        "problems": dict(ctx.health.problems),
        "warnings": dict(ctx.health.warnings),
        "site": ctx.site,
        "checks": len(ctx.live.checks),
        "uptime_seconds": round(time.monotonic() - ctx.started, 3),
    }
    return web.json_response(body, status=200 if problem is None else 503)


def _check_json(ctx: ApiContext, name: str) -> dict[str, Any]:
    live = ctx.live
    check, snap = live.checks[name], live.snapshots[name]
    last = live.last(name)
    return {
        "name": name,
        "type": check.type,
        "target": str(getattr(check.config, "target", "")) or None,  # SNMP: no credentials
        "state": snap.state.value,
        "consecutive_failures": snap.consecutive_failures,
        "consecutive_successes": snap.consecutive_successes,
        "failing_since": iso(snap.streak_start),
        "down_since": iso(snap.downtime_start),
        "last_probe": iso(snap.last_probe),
        "last_result": None
        if last is None
        else {
            "at": iso(last.at),
            "ok": last.result.ok,
            "latency_seconds": last.result.latency,
            "reason": last.result.reason.value if last.result.reason else None,
            "detail": last.result.detail,
            "measurements": dict(last.result.measurements),
        },
        "interval_seconds": check.interval,
        "timeout_seconds": check.timeout,
        "alert_after": check.thresholds.alert_after,
        "down_after": check.thresholds.down_after,
        "recover_after": check.thresholds.recover_after,
        "services": live.services_of(name),
        "labels": check.config.labels,
        "quality": ctx.quality(name),
    }


async def list_checks(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    return web.json_response([_check_json(ctx, n) for n in ctx.live.checks])


async def get_check(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    name = request.match_info["name"]
    if name not in ctx.live.checks:
        return web.json_response({"error": f"no check named {name!r}"}, status=404)
    return web.json_response(_check_json(ctx, name))


async def list_services(request: web.Request) -> web.Response:
    live = request.app[CTX].live
    out = []
    for name, cfg in live.services.items():
        since = live.service_down_since(name)
        out.append(
            {
                "name": name,
                "state": "down" if since is not None else "up",
                "down_since": iso(since),
                "in_maintenance": live.in_maintenance(name),
                "down_when": cfg.down_when
                if isinstance(cfg.down_when, str)
                else cfg.down_when.model_dump(),
                "checks": cfg.checks,
                "down_checks": live.down_checks(name),
            }
        )
    return web.json_response(out)


def window(request: web.Request, *allowed: str) -> tuple[datetime | None, datetime | None]:
    """Validate the query string (unknown parameters are an error) and parse since/until."""
    unknown = set(request.query) - {"since", "until", *allowed}
    if unknown:
        raise ApiRequestError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
    for name, value in request.query.items():
        check_text(value, f"parameter {name!r}")
    since, until = parse_time(request, "since"), parse_time(request, "until")
    if since and until and until < since:
        raise ApiRequestError("parameter 'until' is before 'since'")
    return since, until


def _unknown(level: str, name: str) -> web.Response:
    """A name neither configured nor on the record (a removed check's history still is)."""
    return web.json_response(
        {"error": f"no {level} named {name!r} is configured or on the record"}, status=404)


async def list_downtimes(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    q = request.query
    since, until = window(request, "service", "check")
    service, check = q.get("service"), q.get("check")
    if service and check:
        raise ApiRequestError("give either 'service' or 'check', not both")
    if service is not None:
        rows = await ctx.store.downtimes(level="service", name=service, since=since, until=until)
        if not rows and service not in ctx.live.services:
            return _unknown("service", service)
    elif check is not None:
        rows = await ctx.store.downtimes(level="check", name=check, since=since, until=until)
        if not rows and check not in ctx.live.checks:
            return _unknown("check", check)
    else:
        rows = await ctx.store.downtimes(since=since, until=until)
    now = datetime.now(UTC)
    out = [downtime_json(d, now) for d in rows]
    if isinstance(ctx.store, FleetRecordReader) and rows:  # judged: list each location's own
        evidence = await ctx.store.evidence(
            level="service" if service is not None else "check" if check is not None else None,
            name=service or check, since=min(d.start for d in rows),
            until=None if any(d.end is None for d in rows) else max(d.end or now for d in rows))
        for item, d in zip(out, rows, strict=True):
            item["evidence"] = evidence_json(d, evidence, now)
    return web.json_response(out)


async def list_episodes(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    since, until = window(request, "check")
    check = request.query.get("check")
    rows = await ctx.store.episodes(check=check, since=since, until=until)
    if check is not None and not rows and check not in ctx.live.checks and ctx.fleet is None:
        return _unknown("check", check)
    return web.json_response(
        [
            {
                "id": e.id,
                "check": e.check,
                "start": iso(e.start),
                "end": iso(e.end),
                "failures": e.failures,
                "reason": e.reason,
                "detail": e.detail,
            }
            for e in rows
        ]
    )


async def list_gaps(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    since, until = window(request)
    rows = await ctx.store.gaps(since=since, until=until)
    out: list[dict[str, Any]] = [
        {
            "start": iso(g.start),
            "end": iso(g.end),
            "duration_seconds": (g.end - g.start).total_seconds(),
            "cause": g.cause,
        }
        for g in rows
    ]
    if isinstance(ctx.store, FleetRecordReader):  # judged UNKNOWN, per check or service
        out += [subject_gap_json(g) for g in await ctx.store.subject_gaps(since=since,
                                                                            until=until)]
    return web.json_response(out)


async def list_events(request: web.Request) -> web.Response:
    """Standalone events (reboots, maintenance started/ended) from the permanent log."""
    ctx = request.app[CTX]
    since, until = window(request, "kind", "subject")
    rows = await ctx.store.events(
        kind=request.query.get("kind"), subject=request.query.get("subject"), since=since, until=until
    )
    return web.json_response(
        [
            {
                "id": e.event_id,
                "kind": e.kind,
                "level": e.level,
                e.level: e.subject,
                "at": iso(e.at),
                **{k: v for k, v in e.body.items() if k not in ("check", "service")},
            }
            for e in rows
        ]
    )


def build_app(ctx: ApiContext) -> web.Application:
    app = web.Application(middlewares=[errors_middleware])
    app[CTX] = ctx
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/v1/checks", list_checks)
    app.router.add_get("/api/v1/checks/{name}", get_check)
    app.router.add_get("/api/v1/services", list_services)
    app.router.add_get("/api/v1/downtimes", list_downtimes)
    app.router.add_get("/api/v1/episodes", list_episodes)
    app.router.add_get("/api/v1/gaps", list_gaps)
    app.router.add_get("/api/v1/events", list_events)
    fleet.register(app)
    if ctx.sla is not None:
        from monitord.http import admin, sla

        sla.register(app, ctx.sla)
        admin.register(app)
    status.register(app)
    return app
