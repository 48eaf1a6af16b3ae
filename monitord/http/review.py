"""HTTP for incident review: an SLA manager's append-only decisions (issue 16).

POST /api/v1/reviews (bearer token; the token's name is the audit's "who")
appends one record; GET /api/v1/reviews?service= lists them in the order
written. Records are never changed or deleted (the store refuses it): a
correction is a new record, and reports show the reviewed figures, the
figures before review and every entry applied (`monitord/sla/review.py`).

Bodies, by action (all with `service` and, except ticket/note, a `reason`):
- reclassify: `targets` (interval ids, e.g. "store:12"), `priority` P1..P4;
- group: two or more `targets`;
- exclude: `start`, `end` (ISO-8601 with offset), `category` (force_majeure,
  customer_change, maintenance_overrun, monitoring_fault);
- ticket: `targets`, `ticket`;  note: `targets`, `note`.
Every problem is a 400 naming the field; an unknown interval is a 400 too
(a review of nothing would be a silent no-op).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from monitord.errors import ApiRequestError, StoreUnavailableError
from monitord.http.context import error, iso, token_name
from monitord.http.inputs import instant_field, parse_json_object, service_field, text_field
from monitord.http.sla import SLA, _unknown_params
from monitord.sla.config import PRIORITIES
from monitord.sla.review import ACTIONS, CATEGORIES, describe
from monitord.storage.interface import ReviewAdd
from monitord.storage.records import ReviewRecord

FIELDS = ("service", "action", "targets", "priority", "start", "end", "category", "ticket",
          "note", "reason")
_TARGET = re.compile(r"^store:(\d{1,18})$")


def review_json(rec: ReviewRecord) -> dict[str, Any]:
    return {
        "id": rec.id, "at": iso(rec.at), "who": rec.who, "service": rec.service,
        "action": rec.action, "targets": list(rec.targets), "start": iso(rec.start),
        "end": iso(rec.end), "value": rec.value, "reason": rec.reason, "what": describe(rec),
    }


def _text(body: dict[str, Any], field: str, *, required: bool) -> str:
    value = text_field(body, field).strip()
    if required and not value:
        raise ApiRequestError(f"field {field!r}: required (why: it goes into the audit record)")
    return value


def _targets(body: dict[str, Any], least: int) -> tuple[str, ...]:
    raw = body.get("targets")
    if not isinstance(raw, list) or len(raw) < least or not all(isinstance(t, str) for t in raw):
        raise ApiRequestError(
            f"field 'targets': expected a list of at least {least} interval id(s) like 'store:12'"
        )
    for t in raw:
        if not _TARGET.match(t):
            raise ApiRequestError(f"field 'targets': {t!r} is not an interval id like 'store:12'")
    return tuple(dict.fromkeys(raw))


def parse_review(raw: bytes, services: set[str], who: str, now: datetime) -> ReviewAdd:
    body = parse_json_object(raw, FIELDS, "service and action")
    service = service_field(body, services)
    action = body.get("action")
    if action not in ACTIONS:
        raise ApiRequestError(f"field 'action': expected one of {', '.join(ACTIONS)}, got {action!r}")
    reason = _text(body, "reason", required=action in ("reclassify", "group", "exclude"))
    if action == "reclassify":
        priority = body.get("priority")
        if priority not in PRIORITIES:
            raise ApiRequestError(f"field 'priority': expected one of P1..P4, got {priority!r}")
        return ReviewAdd(now, who, service, action, _targets(body, 1), value=priority, reason=reason)
    if action == "group":
        return ReviewAdd(now, who, service, action, _targets(body, 2), reason=reason)
    if action == "exclude":
        start, end = instant_field(body, "start"), instant_field(body, "end")
        if end <= start:
            raise ApiRequestError("field 'end': must be after 'start'")
        category = body.get("category")
        if category not in CATEGORIES:
            raise ApiRequestError(
                f"field 'category': expected one of {', '.join(CATEGORIES)}, got {category!r}"
            )
        return ReviewAdd(now, who, service, action, (), start, end, category, reason)
    field = "ticket" if action == "ticket" else "note"
    value = _text(body, field, required=True)
    return ReviewAdd(now, who, service, action, _targets(body, 1), value=value, reason=reason)


async def create_review(request: web.Request) -> web.Response:
    name = token_name(request)
    if isinstance(name, web.Response):
        return name
    sla = request.app[SLA]
    now = datetime.now(UTC)
    add = parse_review(await request.read(), set(sla.runtime.services), name, now)
    if add.targets:
        known = {f"store:{r.id}" for r in await sla.runtime.intervals(add.service)}
        missing = [t for t in add.targets if t not in known]
        if missing:
            raise ApiRequestError(
                f"field 'targets': no interval {', '.join(missing)} of service {add.service!r}"
                " (see /api/v1/downtimes?service=...)"
            )
    try:
        rec = await sla.writer.add_review(add)
    except StoreUnavailableError as exc:
        return error(503, f"review not stored: {exc}", **{"Retry-After": "5"})
    return web.json_response(review_json(rec), status=201)


async def list_reviews(request: web.Request) -> web.Response:
    _unknown_params(request, "service")
    sla = request.app[SLA]
    service = request.query.get("service")
    if service is not None and service not in sla.runtime.services:
        return error(404, f"no service named {service!r}")
    return web.json_response([review_json(r) for r in await sla.runtime.reviews(service)])


def register(app: web.Application) -> None:
    app.router.add_get("/api/v1/reviews", list_reviews)
    app.router.add_post("/api/v1/reviews", create_review)
