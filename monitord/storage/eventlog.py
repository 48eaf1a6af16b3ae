"""The permanent log of standalone events (schema 5), written by an `EventCommit`.

Why a log beside the outbox: the outbox is a delivery queue (rows leave once
the broker acknowledges them, and it is only written when MQTT is
configured), whereas a reboot or a maintenance start is a fact reports and
disputes refer to later. Both share the event's id, derived from its key, so
a consumer can match an MQTT message to the stored record.
"""

from __future__ import annotations

import dataclasses
import json

from monitord.storage.outbox import EVENT_KINDS, NewRow, event_id
from monitord.storage.records import EventRecord, StandaloneEvent
from monitord.storage.timestamps import datetime_to_us, us_to_datetime
from monitord.storage.tx import Row, Tx

COLUMNS = "id, event_id, kind, level, subject, at_us, payload"


def keyed(ev: StandaloneEvent) -> StandaloneEvent:
    """Give a keyless event the natural key of what it is (kind, subject, instant)."""
    if ev.key is not None:
        return ev
    return dataclasses.replace(ev, key=f"{ev.kind}|{ev.level}|{ev.subject}|{datetime_to_us(ev.at)}")


async def add(tx: Tx, ev: StandaloneEvent) -> bool:
    """Insert once (by id); True if this call recorded it. Call inside a write transaction."""
    if ev.kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {ev.kind!r}: add it to the schema first")
    eid = event_id(NewRow("event", ev.kind, ev.level, ev.subject, ev.at, ev.body, ev.key))
    added = await tx.execute(
        "INSERT INTO events (event_id, kind, level, subject, at_us, payload)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
        (eid, ev.kind, ev.level, ev.subject, datetime_to_us(ev.at), json.dumps(ev.body)),
    )
    return added == 1


def record(r: Row) -> EventRecord:
    """A row of `SELECT {COLUMNS} FROM events`."""
    return EventRecord(int(r[0]), str(r[1]), str(r[2]), r[3], str(r[4]),
                       us_to_datetime(int(r[5])), json.loads(r[6]))
