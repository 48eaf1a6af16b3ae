"""The API with its SLA engine, in-process over a real SqliteStore, as the HTTP tests drive it.

The record begins 1 September 2026 (the daemon's first run); `recorded` are
service downtimes already on it. Writes go through the pipeline, as in the
daemon.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from monitord.config import effective_checks, parse_config
from monitord.core.events import ServiceDowntimeRecorded
from monitord.core.pipeline import Pipeline, ResumeState
from monitord.core.supervisor import Health
from monitord.http.api import build_app
from monitord.http.context import ApiContext, SlaApi
from monitord.sinks.live import LiveView
from monitord.sinks.metrics import Metrics
from monitord.sla.runtime import SlaRuntime
from monitord.storage.sqlite import SqliteStore
from tests.writes import commit_service

Client = TestClient[web.Request, web.Application]
RECORD_STARTS = datetime(2026, 9, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SlaApp:
    client: Client
    runtime: SlaRuntime
    pipeline: Pipeline
    db: Path


@asynccontextmanager
async def sla_app(
    tmp_path: Path, config: str, tokens: str | None,
    recorded: Sequence[ServiceDowntimeRecorded] = (),
) -> AsyncIterator[SlaApp]:
    """`tokens`: the token file's text (None: writes disabled)."""
    cfg = parse_config(config, env={})
    checks = effective_checks(cfg)
    db = tmp_path / "monitord.db"
    async with SqliteStore(db) as store:
        await store.start_run(RECORD_STARTS)
        if recorded:
            await commit_service(store, list(recorded))
        runtime = SlaRuntime(cfg, store)
        live = LiveView(checks, cfg.services)
        pipeline = Pipeline(checks, cfg.services, store, ResumeState(), [live],
                            maintenance=cfg.maintenance)
        ctx = ApiContext(live, store, Metrics(cfg.daemon.site), cfg.daemon.site, 0.0, Health())
        ctx.sla = SlaApi(runtime, tokens, pipeline)
        async with TestClient(TestServer(build_app(ctx))) as c:
            yield SlaApp(c, runtime, pipeline, db)


async def call(c: Client, method: str, path: str, status: int, body: Any = None,
               **kw: Any) -> Any:
    """The JSON answer to a request that must get `status`."""
    resp = await c.request(method, path, json=body, **kw)
    assert resp.status == status, await resp.text()
    return await resp.json()
