"""A `Batch` as JSON text and back, exactly: what an agent's local journal holds.

Why not pickle: the journal outlives the process that wrote it and is read
by whatever monitord release runs next, so the format is plain data naming
each type. Only the types a batch can carry are known here; anything else is
refused, and a journal row that does not decode raises `JournalError` naming
what is wrong (a bug or a damaged file, never silently skipped).

Instants are ISO 8601 with microseconds and offset; tuples and dataclasses
are tagged, so `decode(encode(b)) == b` for every batch.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from datetime import datetime
from typing import Any

from monitord.core.callquality import Priority, QualityChange, WindowFigures
from monitord.core.events import (
    AlertRaised,
    AlertResolved,
    CheckSnapshot,
    CheckState,
    DowntimeClosed,
    DowntimeOpened,
    EpisodeRecorded,
    ServiceDowntimeClosed,
    ServiceDowntimeOpened,
    ServiceDowntimeRecorded,
)
from monitord.errors import JournalError
from monitord.storage.interface import (
    Batch,
    CheckCommit,
    EventCommit,
    GapCommit,
    QualityCommit,
    ServiceCommit,
)
from monitord.storage.records import StandaloneEvent

__all__ = ["decode", "encode"]

_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        Batch, CheckCommit, ServiceCommit, QualityCommit, EventCommit, GapCommit,
        CheckSnapshot, AlertRaised, AlertResolved, DowntimeOpened, DowntimeClosed,
        EpisodeRecorded, ServiceDowntimeOpened, ServiceDowntimeClosed, ServiceDowntimeRecorded,
        QualityChange, WindowFigures, StandaloneEvent,
    )
}
_ENUMS: dict[str, type[enum.Enum]] = {"CheckState": CheckState, "Priority": Priority}


def _out(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return {"@e": type(value).__name__, "v": value.value}
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise JournalError(f"a naive instant cannot be journaled: {value!r}")
        return {"@t": value.isoformat(timespec="microseconds")}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        if _TYPES.get(name) is not type(value):
            raise JournalError(f"{name} cannot be journaled (an agent only journals evidence)")
        return {"@": name, **{f.name: _out(getattr(value, f.name))
                              for f in dataclasses.fields(value)}}
    if isinstance(value, tuple):
        return {"@tuple": [_out(v) for v in value]}
    if isinstance(value, list):
        return [_out(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _out(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise JournalError(f"a {type(value).__name__} cannot be journaled")


def _in(value: Any) -> Any:
    if isinstance(value, list):
        return [_in(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "@t" in value:
        return datetime.fromisoformat(value["@t"])
    if "@e" in value:
        return _ENUMS[value["@e"]](value["v"])
    if "@tuple" in value:
        return tuple(_in(v) for v in value["@tuple"])
    if "@" in value:
        cls = _TYPES[value["@"]]
        return cls(**{k: _in(v) for k, v in value.items() if k != "@"})
    return {k: _in(v) for k, v in value.items()}


def encode(batch: Batch) -> str:
    return json.dumps(_out(batch), separators=(",", ":"), allow_nan=False)


def decode(text: str) -> Batch:
    try:
        batch = _in(json.loads(text))
    except (ValueError, KeyError, TypeError) as exc:
        raise JournalError(f"a journal entry does not decode ({exc}): {text[:120]!r}") from exc
    if not isinstance(batch, Batch):
        raise JournalError(f"a journal entry is not a batch: {text[:120]!r}")
    return batch
