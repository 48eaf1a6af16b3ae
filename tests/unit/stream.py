"""Build what the pipeline hands sinks, for sink tests that feed it by hand."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from monitord.config.load import EffectiveCheck
from monitord.core.events import CheckSnapshot, MaintenanceEnded, MaintenanceStarted
from monitord.core.stream import Committed, Event, ProbeOutcome
from probes.base import ProbeResult


def committed(check: EffectiveCheck, result: ProbeResult, at: datetime,
              events: Sequence[Event] = (), *, before: CheckSnapshot | None = None,
              after: CheckSnapshot | None = None, duration: float = 0.01) -> Committed:
    snap = CheckSnapshot.initial(check.name)
    outcome = ProbeOutcome(check, at, result, duration, before or snap, after or snap)
    return Committed(at, outcome, tuple(events))


def news(at: datetime, *events: Event) -> Committed:
    """A commit without a probe (the clock, a restart, an API write)."""
    return Committed(at, None, tuple(events))


@asynccontextmanager
async def running(sink: Any) -> AsyncIterator[None]:
    """Run a sink's delivery loops as the supervisor would; at exit, stop them and close it."""
    tasks = [asyncio.create_task(factory(), name=name) for name, factory in sink.tasks()]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        close = getattr(sink, "close", None)
        if close is not None:
            await close()


def maintenance_started(service: str, at: datetime, key: str = "w") -> MaintenanceStarted:
    return MaintenanceStarted(service, "w", "regular", at, at, None, key)


def maintenance_ended(service: str, at: datetime, key: str = "w") -> MaintenanceEnded:
    return MaintenanceEnded(service, "w", "regular", at, at, "elapsed", key)
