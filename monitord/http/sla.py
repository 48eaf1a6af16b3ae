"""HTTP for the SLA engine: maintenance windows (write, with a bearer token) and reports (read).

Why the token only on writes: a maintenance window takes time out of the SLA
figure and silences alerts, so creating one is an act someone must be
accountable for; reading a report changes nothing and stays open on the
loopback default like the rest of the API. The token comes from
`daemon.api_token_file` and is compared in constant time. Without a
configured token the write endpoints answer 503 and say how to enable them,
rather than accepting anyone.

Reports are the engine's (`monitord.sla.runtime` gathers the store's
intervals, gaps and windows; `monitord.sla` computes), rendered like the CLI's.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from monitord.errors import ApiRequestError, SlaError, StoreUnavailableError
from monitord.http.context import SlaApi, authorize, error, iso
from monitord.http.inputs import (
    check_text,
    instant_field,
    parse_id,
    parse_json_object,
    service_field,
    text_field,
)
from monitord.sla.config import SlaPolicy
from monitord.sla.html import render_html
from monitord.sla.render import render_csv, render_json, report_to_dict
from monitord.sla.report import Report
from monitord.storage.interface import MaintenanceAdd, MaintenanceDelete
from monitord.storage.records import MaintenanceRecord

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
WINDOW_FIELDS = ("service", "start", "end", "kind", "announced_at", "reason")


SLA: web.AppKey[SlaApi] = web.AppKey("sla", SlaApi)


def window_json(rec: MaintenanceRecord) -> dict[str, Any]:
    return {
        "id": rec.id,
        "name": f"api-{rec.id}",
        "service": rec.service,
        "start": iso(rec.start),
        "end": iso(rec.end),
        "kind": rec.kind,
        "announced_at": iso(rec.announced_at),
        "reason": rec.reason,
        "created_at": iso(rec.created_at),
        "deleted_at": iso(rec.deleted_at),
    }


def parse_window(
    raw: bytes, services: set[str], now: datetime
) -> tuple[str, datetime, datetime, str, datetime, str]:
    """Validate a POST body; every problem names its field."""
    body = parse_json_object(raw, WINDOW_FIELDS, "service, start and end")
    service = service_field(body, services)
    start, end = instant_field(body, "start"), instant_field(body, "end")
    if end <= start:
        raise ApiRequestError("field 'end': must be after 'start'")
    kind = body.get("kind", "regular")
    if not isinstance(kind, str) or not _NAME.match(kind):
        raise ApiRequestError(
            f"field 'kind': {kind!r} is not a kind name (e.g. regular, necessary, urgent)"
        )
    announced = instant_field(body, "announced_at") if "announced_at" in body else now
    if announced > now:
        raise ApiRequestError("field 'announced_at': cannot be in the future")
    reason = text_field(body, "reason")
    return service, start, end, kind, announced, reason


async def create_window(request: web.Request) -> web.Response:
    refusal = authorize(request)
    if refusal is not None:
        return refusal
    sla = request.app[SLA]
    now = datetime.now(UTC)
    service, start, end, kind, announced, reason = parse_window(
        await request.read(), set(sla.runtime.services), now
    )
    try:
        rec = await sla.writer.add_maintenance(MaintenanceAdd(
            service=service, start=start, end=end, kind=kind, announced_at=announced,
            reason=reason, now=now))
    except StoreUnavailableError as exc:
        return error(503, f"maintenance window not stored: {exc}", **{"Retry-After": "5"})
    return web.json_response(
        window_json(rec), status=201, headers={"Location": f"/api/v1/maintenance/{rec.id}"}
    )


async def delete_window(request: web.Request) -> web.Response:
    refusal = authorize(request)
    if refusal is not None:
        return refusal
    raw = request.match_info["id"]
    window_id = parse_id(raw, "path: window id")
    try:
        rec = await request.app[SLA].writer.delete_maintenance(
            MaintenanceDelete(window_id, datetime.now(UTC)))
    except StoreUnavailableError as exc:
        return error(503, f"maintenance window not withdrawn: {exc}", **{"Retry-After": "5"})
    if rec is None:
        return error(404, f"no maintenance window {raw} (or it was already deleted)")
    return web.json_response(window_json(rec))


def _unknown_params(request: web.Request, *allowed: str) -> None:
    unknown = set(request.query) - set(allowed)
    if unknown:
        raise ApiRequestError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
    for name, value in request.query.items():
        check_text(value, f"parameter {name!r}")


async def list_windows(request: web.Request) -> web.Response:
    _unknown_params(request, "service", "include_deleted")
    sla = request.app[SLA]
    service = request.query.get("service")
    if service is not None and service not in sla.runtime.services:
        return error(404, f"no service named {service!r}")
    flag = request.query.get("include_deleted", "false").lower()
    if flag not in ("true", "false", "1", "0"):
        raise ApiRequestError("parameter 'include_deleted': use true or false")
    rows = await sla.runtime.windows(service, include_deleted=flag in ("true", "1"))
    return web.json_response([window_json(r) for r in rows])


async def _report(request: web.Request, service: str) -> tuple[Report, SlaPolicy]:
    """The service's report for `period` (default: the one running now); 404/400 name the problem."""
    runtime = request.app[SLA].runtime
    if service not in runtime.services:
        raise web.HTTPNotFound(
            text=json.dumps({"error": f"no service named {service!r}"}),
            content_type="application/json",
        )
    try:
        policy = runtime.policy_of(service)
    except SlaError as exc:
        raise ApiRequestError(f"parameter 'service': {exc}") from None
    now = datetime.now(UTC)
    try:
        period = runtime.period(policy, request.query.get("period") or None, now)
    except SlaError as exc:
        raise ApiRequestError(f"parameter 'period': {exc}") from None
    return await runtime.report(service, policy, period, now), policy


def _flag(request: web.Request, name: str) -> bool:
    value = request.query.get(name, "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise ApiRequestError(f"parameter {name!r}: use true or false")
    return value in ("true", "1")


async def availability(request: web.Request) -> web.Response:
    """One service's report as JSON, or every service with a policy (a list) without `service`.

    The list is the bulk form (issue 18): one Batch for the fleet, computed and
    rendered in a worker thread; `summary=true` leaves out the long lists.
    """
    _unknown_params(request, "service", "period", "summary")
    runtime = request.app[SLA].runtime
    summary = _flag(request, "summary")
    service = request.query.get("service")
    if service:
        report, _ = await _report(request, service)
        return web.json_response(report_to_dict(report, summary=summary))
    now = datetime.now(UTC)
    jobs = []
    for name, svc in runtime.services.items():
        if svc.sla_policy is None:
            continue
        policy = runtime.setup.policy(svc.sla_policy)
        try:
            period = runtime.period(policy, request.query.get("period") or None, now)
        except SlaError as exc:
            raise ApiRequestError(f"parameter 'period': {exc}") from None
        jobs.append((name, policy, period))
    reports = await runtime.reports(jobs, now)
    body = await asyncio.to_thread(render_json, reports, summary=summary)
    return web.Response(text=body, content_type="application/json")


async def service_report(request: web.Request) -> web.Response:
    _unknown_params(request, "period", "format")
    fmt = request.query.get("format", "json")
    if fmt not in ("json", "csv", "html"):
        raise ApiRequestError(f"parameter 'format': {fmt!r} is not one of json, csv, html")
    report, policy = await _report(request, request.match_info["service"])
    if fmt == "html":
        return web.Response(
            text=render_html([report], timezone=policy.timezone), content_type="text/html"
        )
    if fmt == "csv":
        return web.Response(text=render_csv([report]), content_type="text/csv")
    return web.json_response(report_to_dict(report))  # the resource: one object


def register(app: web.Application, sla: SlaApi) -> None:
    from monitord.http.review import register as register_reviews

    app[SLA] = sla
    register_reviews(app)  # incident review (monitord/http/review.py)
    app.router.add_get("/api/v1/maintenance", list_windows)
    app.router.add_post("/api/v1/maintenance", create_window)
    app.router.add_delete("/api/v1/maintenance/{id}", delete_window)
    app.router.add_get("/api/v1/availability", availability)
    app.router.add_get("/api/v1/reports/{service}", service_report)
