"""The building blocks every config model shares: strict models, names, bounds, a check's
common settings.

Why a module of its own: the per-family check models (SIP call, REGISTER, SNMP) and
the alerting models build on these, and `models.py` gathers them all into `Config`;
with the blocks here nothing has to import `models.py` back (no cycle).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt

from monitord.config.durations import Duration, bounded
from monitord.config.names import check_name as _check_name
from monitord.core.events import DowntimeStart

# Sane upper bounds: beyond these a value is a typo, not a plan (README "Config limits").
MAX_INTERVAL = 86400.0  # a check probed less than daily watches nothing an SLA counts
MAX_HEARTBEAT = 300.0  # an unclean stop can leave this much unwatched time counted as up
MAX_STREAK = 10_000  # consecutive probes: ~2.8 h of failures at 1 s before a check is down
Interval = Annotated[float, BeforeValidator(bounded(MAX_INTERVAL))]
Streak = Annotated[StrictInt, Field(ge=1, le=MAX_STREAK)]


def parse_status_codes(value: Any) -> frozenset[int]:
    """[200, '2xx', 404] -> the set of accepted SIP status codes."""
    items = value if isinstance(value, list) else [value]
    codes: set[int] = set()
    for item in items:
        text = str(item).strip().lower()
        if re.fullmatch(r"[1-6]xx", text):
            base = int(text[0]) * 100
            codes.update(range(base, base + 100))
        elif re.fullmatch(r"[1-6]\d\d", text):
            codes.add(int(text))
        else:
            raise ValueError(f"invalid SIP status code {item!r}: use e.g. 200, 404 or '2xx'")
    if not codes:
        raise ValueError("no SIP status code given: every probe would fail")
    return frozenset(codes)


StatusCodes = Annotated[frozenset[int], BeforeValidator(parse_status_codes)]


def sip_target(value: str, *, user: str | None = None) -> str:
    """A SIP or SIPS URI a check aims at; `user` says what its user part names, when it needs one."""
    from probes.sip.uri import SipUri

    uri = SipUri.parse(value)
    if user is not None and not uri.user:
        raise ValueError(f"the target needs {user}: sip:USER@HOST, got {value!r}")
    return value


def sip_token(value: str | None, what: str, forbidden: str) -> str | None:
    """A name copied into SIP headers as it is: not empty, no white space, none of `forbidden`."""
    if value is not None and (not value or any(c.isspace() or c in forbidden for c in value)):
        banned = ["spaces", *("quotes" if c == '"' else repr(c) for c in forbidden)]
        raise ValueError(f"invalid {what} {value!r}: no {', '.join(banned[:-1])} or {banned[-1]}")
    return value


Name = Annotated[str, BeforeValidator(lambda v: _check_name(str(v)))]


class FieldProblem(ValueError):
    """A cross-field rule's complaint about one field, so the error names that field's path
    (`checks[3].timeout`, not `checks[3]`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def paired(model: BaseModel, first: str, second: str, message: str) -> None:
    """Two optional fields set together or not at all; the complaint names the one that is set."""
    if (getattr(model, first) is None) != (getattr(model, second) is None):
        raise FieldProblem(first if getattr(model, second) is None else second, message)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Locations(Strict):
    """How many locations must see a check (or service) down for the fleet to judge it down."""

    at_least: StrictInt = Field(default=1, ge=1, le=64)


class CheckBase(Strict):
    name: Name
    description: str = ""
    interval: Interval | None = None
    timeout: Interval | None = None
    alert_after: Streak | None = None
    down_after: Streak | None = None
    recover_after: Streak | None = None
    downtime_start: DowntimeStart | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    runbook_url: str | None = None  # what on-call opens from this check's alerts
    # Latency budget: a successful probe slower than this is a quality breach (`slow`),
    # shown in metrics, API and logs; it never marks the check down (monitord/sinks/budgets.py).
    max_rtt: Duration | None = None
    locations: Locations = Field(default_factory=Locations)  # quorum over a fleet's locations
