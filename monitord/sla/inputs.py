"""Intervals from SLA tooling: a ticket system's export as JSON or CSV, one column set.

Why: contracts such as XTIUM's make the ticket system's records leading, and
SLA managers must recompute the figure from what it exports — usually CSV,
with columns of its own. Both formats carry the same records and give the
same figures:

| column | meaning |
| --- | --- |
| `service` | the service (required for downtime; empty = every service for the other kinds) |
| `start`, `end` | ISO-8601 with offset, e.g. `2026-10-03T12:00:00+02:00` |
| `kind` | `downtime` (default), `unmonitored` (a hole in the data), `maintenance` (a window) |
| `priority` | `P1`..`P4`; empty = the service's `default_priority` (P1 if none) |
| `users` | affected users (user-minute policies); empty = everyone |
| `reason` | free text, shown per interval |
| `ticket` | the ticket reference, shown per incident |
| `maintenance_kind` | a window's kind (`regular`, `necessary`, `urgent`...; default `regular`) |
| `announced_at` | when a window was announced (required for `maintenance` rows) |

Any other column is kept and shown with its interval (`extra`): a ticket
system's `assignee` or `customer_ref` travel into the report untouched. A
column whose name is close to a known one (`priorty`) is still kept, with a
warning, because a silent typo would change figures.

A JSON file is a list of such objects; CSV is one row per record with a
header. Every problem names the file, the row (JSON index or CSV line) and
the column.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitord.errors import SlaError
from monitord.sla.availability import Downtime, Gap
from monitord.sla.config import PRIORITIES, OneOffWindow

KNOWN = (
    "service", "start", "end", "kind", "priority", "users", "reason", "ticket",
    "maintenance_kind", "announced_at",
)
KINDS = ("downtime", "unmonitored", "maintenance")
_KIND_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


@dataclass
class IntervalFile:
    """What one file holds, in file order; `warnings` are for stderr."""

    downtimes: list[tuple[str, Downtime]] = field(default_factory=list)
    gaps: list[tuple[str | None, Gap]] = field(default_factory=list)
    windows: list[OneOffWindow] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def services(self) -> list[str]:
        """Services named by downtime rows, first appearance first."""
        return list(dict.fromkeys(s for s, _ in self.downtimes))


class _Bad(Exception):
    """A problem in one row: (column or None, message)."""

    def __init__(self, column: str | None, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


def _instant(value: Any, column: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except TypeError:
        raise _Bad(column, f"expected an ISO-8601 time with offset, got {value!r}") from None
    except ValueError:
        raise _Bad(column, f"invalid ISO-8601 time {value!r}") from None
    if parsed.tzinfo is None:
        raise _Bad(column, f"{value!r} has no UTC offset; write e.g. 2026-10-03T12:00:00+02:00")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is in year 0
        raise _Bad(column, f"{value!r} is outside the years 1..9999 in UTC") from None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)


def read(
    path: str | Path,
    *,
    default_priority: Callable[[str], str] = lambda _service: "P1",
) -> IntervalFile:
    """Parse `path` (CSV when it ends in .csv, else JSON) into intervals and windows."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SlaError(f"{path}: cannot read the intervals file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise SlaError(f"{path}: not UTF-8 text: {exc}") from exc
    if path.suffix.lower() == ".csv":
        rows, where = _csv_rows(text, path)
    else:
        rows, where = _json_rows(text, path)
    return parse_rows(rows, where, default_priority=default_priority, source=path.name)


def _json_rows(text: str, path: Path) -> tuple[list[Any], Callable[[int], str]]:
    try:
        data = json.loads(text)
    except RecursionError:
        raise SlaError(f"{path}: not valid JSON: nested too deeply") from None
    except ValueError as exc:
        hint = " (a CSV export? name the file *.csv)" if "," in text.split("\n", 1)[0] else ""
        raise SlaError(f"{path}: not valid JSON: {exc}{hint}") from exc
    if not isinstance(data, list):
        raise SlaError(f"{path}: expected a JSON list of interval objects")
    return data, lambda i: f"{path}[{i}]"


def _csv_rows(text: str, path: Path) -> tuple[list[Any], Callable[[int], str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames:
        raise SlaError(f"{path}: empty CSV file: expected a header row (service,start,end,...)")
    header = [h.strip() for h in reader.fieldnames]
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise SlaError(f"{path}: column(s) {', '.join(dupes)} appear more than once in the header")
    rows: list[Any] = []
    lines: list[int] = []
    try:
        for raw in reader:
            if None in raw:
                raise SlaError(f"{path}:{reader.line_num}: more cells than header columns")
            rows.append({k.strip(): v.strip() for k, v in raw.items() if v is not None and v.strip()})
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise SlaError(f"{path}:{reader.line_num}: not valid CSV: {exc}") from exc
    return rows, lambda i: f"{path}:{lines[i]}"


def parse_rows(
    rows: Iterable[Any],
    where: Callable[[int], str],
    *,
    default_priority: Callable[[str], str],
    source: str = "",
) -> IntervalFile:
    """Validate rows (dicts of column -> value) in file order."""
    out = IntervalFile()
    known = frozenset(KNOWN)
    extra_seen: dict[str, None] = {}
    fromiso = datetime.fromisoformat
    downs = out.downtimes
    for i, item in enumerate(rows):
        # the usual row (a plain downtime, every value well formed) in one go; anything
        # else, or anything wrong, takes the careful path below, which names the problem
        if type(item) is dict and known.issuperset(item) and item.get("kind", "downtime") == "downtime":
            try:
                service = item["service"]
                start, end = fromiso(item["start"]), fromiso(item["end"])
                if start.tzinfo is None or end.tzinfo is None or type(service) is not str:
                    raise ValueError
                start, end = start.astimezone(UTC), end.astimezone(UTC)
                priority = item.get("priority")
                if priority is None:
                    priority = default_priority(service)
                users = item.get("users")
                reason, ticket = item.get("reason", ""), item.get("ticket", "")
                if (
                    end >= start and service and priority in PRIORITIES
                    and (users is None or (type(users) is int and users >= 0))
                    and type(reason) is str and type(ticket) is str
                ):
                    downs.append((service, Downtime(start, end, priority, users, reason,
                                                    f"{source}[{i}]", ticket)))
                    continue
            except (KeyError, TypeError, ValueError, OverflowError):
                pass
        try:
            if not isinstance(item, dict):
                raise _Bad(None, "expected an object with service, start and end")
            extra: tuple[tuple[str, str], ...] = ()
            if not known.issuperset(item):
                extra = tuple((k, _text(v)) for k, v in item.items() if k not in known)
                for k, _ in extra:
                    extra_seen.setdefault(str(k))
            _row(item, i, extra, out, default_priority, source)
        except _Bad as bad:
            loc = where(i)
            if bad.column:
                loc = f"{loc}.{bad.column}" if loc.endswith("]") else f"{loc} column {bad.column!r}"
            raise SlaError(f"{loc}: {bad.message}") from None
    out.extra_columns = list(extra_seen)
    if extra_seen:
        import difflib  # only to name a likely typo in a column
    for name in out.extra_columns:
        close = difflib.get_close_matches(name, KNOWN, n=1, cutoff=0.8)
        if close:
            out.warnings.append(
                f"column {name!r} is not one monitord reads; kept as extra (did you mean"
                f" {close[0]!r}? as written it does not change any figure)"
            )
    return out


def _row(
    item: dict[str, Any],
    i: int,
    extra: tuple[tuple[str, str], ...],
    out: IntervalFile,
    default_priority: Callable[[str], str],
    source: str,
) -> None:
    start = _instant(item.get("start"), "start")
    end = _instant(item.get("end"), "end")
    if end < start:
        raise _Bad(None, f"end {item['end']} is before start {item['start']}")
    service = item.get("service")
    if service is not None and (not isinstance(service, str) or not service):
        raise _Bad("service", f"expected a service name, got {service!r}")
    kind = item.get("kind", "downtime")
    reason = item.get("reason", "")
    if type(reason) is not str:
        reason = _text(reason)
    ticket = item.get("ticket", "")
    if type(ticket) is not str:
        ticket = _text(ticket)
    if kind == "downtime":
        if service is None:
            raise _Bad("service", "required (the service the interval belongs to)")
        priority = item.get("priority")
        if priority is None:
            priority = default_priority(service)
        elif priority not in PRIORITIES:
            raise _Bad("priority", f"expected one of P1, P2, P3, P4, got {priority!r}")
        out.downtimes.append(
            (service, Downtime(start, end, priority, _users(item.get("users")), reason,
                               source + f"[{i}]", ticket, extra))
        )
    elif kind == "unmonitored":
        out.gaps.append((service, Gap(start, end, reason or "unmonitored")))
    elif kind == "maintenance":
        if end == start:
            raise _Bad("end", "a maintenance window must end after it starts")
        mkind = item.get("maintenance_kind", "regular")
        if not isinstance(mkind, str) or not _KIND_NAME.match(mkind):
            raise _Bad("maintenance_kind", f"{mkind!r} is not a kind name (e.g. regular, urgent)")
        if "announced_at" not in item:
            raise _Bad("announced_at", "required for a maintenance window (notice is judged on it)")
        announced = _instant(item.get("announced_at"), "announced_at")
        out.windows.append(
            OneOffWindow(
                name=f"file-{i}" if not ticket else _window_name(ticket, i),
                kind=mkind,
                services=[service] if service else [],
                start=start,
                end=end,
                announced_at=announced,
                reason=reason,
            )
        )
    else:
        raise _Bad("kind", f"expected one of {', '.join(KINDS)}, got {kind!r}")


def _window_name(ticket: str, i: int) -> str:
    name = re.sub(r"[^A-Za-z0-9_.\-]", "-", ticket)[:100].lstrip("-_.")
    return f"{name}-{i}" if name else f"file-{i}"


def _users(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        if not value.isdigit():
            raise _Bad("users", f"expected a whole number of affected users, got {value!r}")
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Bad("users", f"expected a whole number of affected users, got {value!r}")
    return value
