"""Single-entry writes for store tests: each is one `commit(Batch)` of the writer interface.

The daemon writes only through the pipeline; tests that exercise a backend
directly build the same batches with these.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from monitord.core.callquality import QualityChange
from monitord.core.events import CheckEvent, CheckSnapshot, ServiceEvent
from monitord.storage.interface import (
    Batch,
    CheckCommit,
    EventCommit,
    MaintenanceAdd,
    MaintenanceDelete,
    QualityCommit,
    ServiceCommit,
    StoreWriter,
)
from monitord.storage.records import MaintenanceRecord, StandaloneEvent


async def commit_check(store: StoreWriter, snapshot: CheckSnapshot,
                       events: Sequence[CheckEvent] = ()) -> None:
    await store.commit(Batch((CheckCommit(snapshot, tuple(events)),)))


async def commit_service(store: StoreWriter, events: Sequence[ServiceEvent]) -> None:
    if events:
        await store.commit(Batch((ServiceCommit(tuple(events)),)))


async def commit_quality(store: StoreWriter, changes: Sequence[QualityChange]) -> None:
    if changes:
        await store.commit(Batch((QualityCommit(tuple(changes)),)))


async def record_event(store: StoreWriter, event: StandaloneEvent) -> bool:
    receipt = await store.commit(Batch((EventCommit((event,)),)))
    return receipt.events_recorded == 1


async def add_maintenance(store: StoreWriter, *, service: str, start: datetime, end: datetime,
                          kind: str, announced_at: datetime, reason: str,
                          now: datetime) -> MaintenanceRecord:
    receipt = await store.commit(Batch((MaintenanceAdd(service, start, end, kind, announced_at,
                                                       reason, now),)))
    (record,) = receipt.maintenance
    assert record is not None
    return record


async def delete_maintenance(store: StoreWriter, window_id: int,
                             now: datetime) -> MaintenanceRecord | None:
    (record,) = (await store.commit(Batch((MaintenanceDelete(window_id, now),)))).maintenance
    return record
