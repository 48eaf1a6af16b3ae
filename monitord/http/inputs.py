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
from datetime import UTC, datetime
from typing import Any

from monitord.errors import ApiRequestError

__all__ = [
    "MAX_ID",
    "MAX_INSTANT",
    "MIN_INSTANT",
    "check_text",
    "parse_id",
    "parse_instant",
    "parse_json_body",
]

# The record starts at the Unix epoch (storage/timestamps.py counts from it), and an
# instant must stay convertible to every zone we display in, years 1..9999.
MIN_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
MAX_INSTANT = datetime(9999, 1, 1, tzinfo=UTC)
MAX_ID = 2**63 - 1  # SQLite's INTEGER
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
