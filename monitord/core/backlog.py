"""Batches the store has not taken yet: in order, compacted, bounded.

Why compact: at 2,000 probes/s a failing check changes its snapshot on every
probe, but only its latest snapshot matters to the record; events (interval
opens and closes) are rare and every one of them matters. So a snapshot-only
commit replaces the check's previous snapshot-only commit when nothing of that
check was queued after it, and the bound counts what is left. Memory therefore
grows with the number of checks and events, not with time.

`peek()` hands out up to `max_entries` waiting entries as one batch (one
transaction); `done(batch)` drops them once the store has them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitord.storage.interface import Batch, CheckCommit, Entry

__all__ = ["MAX_ENTRIES_PER_WRITE", "WriteBacklog"]

MAX_ENTRIES_PER_WRITE = 500


@dataclass(slots=True)
class _Slot:
    entry: Entry | None  # None once replaced by a later snapshot of the same check
    at: datetime


class WriteBacklog:
    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the backlog bound must be at least 1")
        self._limit = limit
        self._slots: list[_Slot] = []
        self._head = 0
        self._live = 0
        self._snapshot_only: dict[str, int] = {}  # check -> index of its replaceable slot
        self._last: dict[str, int] = {}  # check -> index of its latest slot

    def __len__(self) -> int:
        return self._live

    def __bool__(self) -> bool:
        return self._live > 0

    def append(self, batch: Batch) -> bool:
        """Queue a batch's entries; False (nothing queued) when the bound is reached."""
        at = batch.last_seen
        if at is None:
            raise ValueError("a queued batch needs its time (last_seen)")
        fresh = [e for e in batch.entries if not self._replace(e, at)]
        if self._live + len(fresh) > self._limit:
            return False
        for entry in fresh:
            index = len(self._slots)
            self._slots.append(_Slot(entry, at))
            self._live += 1
            if isinstance(entry, CheckCommit):
                check = entry.snapshot.check
                self._last[check] = index
                if entry.events:
                    self._snapshot_only.pop(check, None)
                else:
                    self._snapshot_only[check] = index
        return True

    def _replace(self, entry: Entry, at: datetime) -> bool:
        if not isinstance(entry, CheckCommit) or entry.events:
            return False
        check = entry.snapshot.check
        index = self._snapshot_only.get(check)
        if index is None or self._last.get(check) != index or index < self._head:
            return False
        self._slots[index] = _Slot(entry, at)
        return True

    def peek(self, max_entries: int = MAX_ENTRIES_PER_WRITE) -> Batch:
        entries: list[Entry] = []
        last_seen: datetime | None = None
        i = self._head
        while i < len(self._slots) and len(entries) < max_entries:
            slot = self._slots[i]
            if slot.entry is not None:
                entries.append(slot.entry)
                last_seen = slot.at if last_seen is None else max(last_seen, slot.at)
            i += 1
        return Batch(tuple(entries), last_seen)

    def done(self, batch: Batch) -> None:
        """Drop the entries `peek()` returned as `batch` (the store has them)."""
        left = len(batch.entries)
        while left and self._head < len(self._slots):
            slot = self._slots[self._head]
            if slot.entry is not None:
                if slot.entry is not batch.entries[len(batch.entries) - left]:
                    raise RuntimeError("the backlog changed between peek() and done()")
                slot.entry = None
                self._live -= 1
                left -= 1
            self._head += 1
        if self._head > 1024 and self._head * 2 > len(self._slots):
            self._compact()

    def _compact(self) -> None:
        shift = self._head
        self._slots = self._slots[shift:]
        self._head = 0
        self._snapshot_only = {c: i - shift for c, i in self._snapshot_only.items() if i >= shift}
        self._last = {c: i - shift for c, i in self._last.items() if i >= shift}
