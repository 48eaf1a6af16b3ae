"""What a request may carry: instants, ids, text and JSON bodies, checked at the edge.

Why one module: a value the store or the SLA engine cannot hold must be a 400
naming the parameter or field here, not an OverflowError (an offset that
moves 0001-01-01 before year 1), a sqlite3 OverflowError (an id past 2^63) or
a UnicodeEncodeError (a lone surrogate in a reason) deep below, which the
client sees as a 500. `where` is how the message names the input:
"parameter 'since'", "field 'start'", "path".
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from monitord.errors import ApiRequestError

__all__ = [
    "MAX_ID",
    "MAX_INSTANT",
    "MAX_TEXT",
    "MIN_INSTANT",
    "check_text",
    "instant_field",
    "parse_id",
    "parse_instant",
    "parse_json_body",
    "parse_json_object",
    "service_field",
    "text_field",
]

# The record starts at the Unix epoch (storage/timestamps.py counts from it), and an
# instant must stay convertible to every zone we display in, years 1..9999.
MIN_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
MAX_INSTANT = datetime(9999, 1, 1, tzinfo=UTC)
MAX_ID = 2**63 - 1  # SQLite's INTEGER
MAX_TEXT = 2000  # a reason, a note, a ticket reference
_ID = re.compile(r"[0-9]{1,19}")


def parse_instant(raw: str, where: str) -> datetime:
    """An ISO-8601 instant with a UTC offset, in UTC, within [MIN_INSTANT, MAX_INSTANT)."""
    check_text(raw, where)
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ApiRequestError(
            f"{where}: {raw!r} is not an ISO-8601 timestamp (e.g. 2026-10-01T00:00:00+02:00)"
        ) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ApiRequestError(f"{where}: {raw!r} needs a UTC offset (e.g. +00:00 or Z)")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is in year 0
        utc = None
    if utc is None or not MIN_INSTANT <= utc < MAX_INSTANT:
        raise ApiRequestError(
            f"{where}: {raw!r} is outside {MIN_INSTANT.date()} .. {MAX_INSTANT.date()} (UTC)"
        )
    return utc


def parse_id(raw: str, where: str) -> int:
    """A row id: decimal digits (ASCII only), at most SQLite's largest integer."""
    if not _ID.fullmatch(raw) or int(raw) > MAX_ID:
        raise ApiRequestError(f"{where}: {raw!r} is not a number from 0 to {MAX_ID}")
    return int(raw)


def check_text(value: str, where: str) -> str:
    """Text the store can hold: valid Unicode (no lone surrogates) without NUL."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiRequestError(f"{where}: not valid Unicode text") from None
    if "\x00" in value:
        raise ApiRequestError(f"{where}: contains a NUL character")
    return value


def parse_json_body(raw: bytes) -> Any:
    """The request body as JSON; 'body: ...' on anything else, however deep or odd."""
    try:
        text = raw.decode("utf-8")
        return json.loads(text)
    except UnicodeDecodeError:
        raise ApiRequestError("body: not UTF-8 text") from None
    except RecursionError:
        raise ApiRequestError("body: nested too deeply") from None
    except ValueError:
        raise ApiRequestError("body: not valid JSON") from None


def parse_json_object(raw: bytes, fields: Sequence[str], holding: str) -> dict[str, Any]:
    """The body as a JSON object of no other keys than `fields`; `holding` names what it needs."""
    body = parse_json_body(raw)
    if not isinstance(body, dict):
        raise ApiRequestError(f"body: expected a JSON object with {holding}")
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise ApiRequestError(
            f"unknown field(s) {', '.join(map(repr, unknown))} (allowed: {', '.join(fields)})"
        )
    return body


def service_field(body: dict[str, Any], services: Collection[str]) -> str:
    """The body's `service`: the name of a configured service."""
    service = body.get("service")
    if not isinstance(service, str) or not service:
        raise ApiRequestError("field 'service': required, the name of a configured service")
    if service not in services:
        known = ", ".join(sorted(services)) or "none configured"
        raise ApiRequestError(f"field 'service': unknown service {service!r} (known: {known})")
    return service


def instant_field(body: dict[str, Any], field: str) -> datetime:
    raw = body.get(field)
    if not isinstance(raw, str):
        raise ApiRequestError(
            f"field {field!r}: expected an ISO-8601 string with offset, got {raw!r}"
        )
    return parse_instant(raw, f"field {field!r}")


def text_field(body: dict[str, Any], field: str) -> str:
    """Optional text (empty when absent) of at most MAX_TEXT characters."""
    value = body.get(field, "")
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ApiRequestError(f"field {field!r}: expected text of at most {MAX_TEXT} characters")
    return check_text(value, f"field {field!r}")
