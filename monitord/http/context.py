"""What every HTTP handler is given: the live view, the record, health, the writers.

Why a module of its own: the API, the SLA endpoints and the admin endpoint all
read it; keeping it here means none of them imports another (no cycles).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import web

from monitord.core.stream import Reconfigured
from monitord.core.supervisor import Health
from monitord.http.tokens import parse_tokens, who
from monitord.sinks.live import LiveView
from monitord.sinks.metrics import Metrics
from monitord.sla.runtime import SlaRuntime
from monitord.storage.interface import MaintenanceAdd, MaintenanceDelete, ReviewAdd, StoreReader
from monitord.storage.records import MaintenanceRecord, ReviewRecord

__all__ = ["CTX", "ApiContext", "FleetStatus", "MaintenanceWriter", "Reloader", "SlaApi",
           "authorize", "error", "iso", "token_name"]


class MaintenanceWriter(Protocol):
    """The pipeline: the one writer, which also moves the maintenance calendar."""

    async def add_maintenance(self, add: MaintenanceAdd) -> MaintenanceRecord: ...

    async def delete_maintenance(self, delete: MaintenanceDelete) -> MaintenanceRecord | None: ...

    async def add_review(self, add: ReviewAdd) -> ReviewRecord: ...


class FleetStatus(Protocol):
    """A fleet agent's view of its fleet (monitord/fleet/wiring.py)."""

    def status(self) -> dict[str, Any]: ...


class Reloader(Protocol):
    """The daemon: applies the config file again (monitord/http/admin.py)."""

    async def reload(self) -> Reconfigured: ...


@dataclass
class SlaApi:
    runtime: SlaRuntime
    token: str | None  # bearer token for the write endpoints; None = writes disabled
    writer: MaintenanceWriter


@dataclass
class ApiContext:
    live: LiveView  # the present, as the event stream told it
    store: StoreReader  # the record
    metrics: Metrics
    site: str
    started: float
    health: Health  # the supervisor's: tasks, the record, the scheduler
    sla: SlaApi | None = None  # maintenance windows and reports (monitord/http/sla.py)
    reloader: Reloader | None = None  # POST /api/v1/reload (monitord/http/admin.py)
    # per-check quality budgets (max_rtt, certificate expiry): monitord/sinks/budgets.py
    quality: Callable[[str], dict[str, Any] | None] = lambda _name: None
    # a fleet agent (docs/fleet.md): its status, and the labels every exported series gets
    fleet: FleetStatus | None = None
    metric_labels: Mapping[str, str] = field(default_factory=dict)


CTX: web.AppKey[ApiContext] = web.AppKey("ctx", ApiContext)


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers or None)


def authorize(request: web.Request) -> web.Response | None:
    """None when the request carries a configured bearer token, else the refusal."""
    found = token_name(request)
    return found if isinstance(found, web.Response) else None


def token_name(request: web.Request) -> str | web.Response:
    """The name of the bearer token the request carries, or the refusal.

    The token file may name its tokens (`NAME TOKEN` lines, monitord/http/tokens.py):
    the name is the "who" of an incident review's audit entry.
    """
    sla = request.app[CTX].sla
    token = sla.token if sla is not None else None
    if token is None:
        return error(
            503,
            "write endpoints are disabled: no API token is configured;"
            " set daemon.api_token_file to a file holding the token",
        )
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="monitord"'}
    if scheme.lower() != "bearer" or not given.strip():
        return error(401, "missing bearer token: send 'Authorization: Bearer <token>'", **challenge)
    name = who(parse_tokens(token), given.strip())
    if name is None:
        return error(401, "invalid bearer token", **challenge)
    return name
