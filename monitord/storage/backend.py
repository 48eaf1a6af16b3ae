"""What a SQL backend supplies so the store's logic can be written once.

`writer.py` (runs, the one commit) and `readers.py` (the queries, the outbox
queue) hold every rule of `interface.py` in SQL both databases accept. A
backend (`sqlite/`, `postgresql/`) adds only what differs: how it connects,
takes the single-writer lock, migrates its schema, runs a unit of work in one
cancel-safe transaction, and turns its driver's errors into `StorageError`
with a message naming the store.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self, TypeVar

from monitord.storage.tx import Tx

__all__ = ["SqlBackend", "Work"]

T = TypeVar("T")
Work = Callable[[Tx], Awaitable[T]]

_US_PER_SECOND = 1_000_000


class SqlBackend(ABC):
    def __init__(self, where: str, *, heartbeat_grace_seconds: float, outbox: bool) -> None:
        if heartbeat_grace_seconds < 0:
            raise ValueError("heartbeat_grace_seconds cannot be negative")
        self._where = where  # names the store in every message: a path, or a URL without password
        # After a crash the daemon was alive for some time after its last
        # recorded sign of life (it heartbeats only every so often). The grace
        # is how much of that the operator agrees to count as monitored; the
        # default 0 claims nothing that the database cannot prove.
        self._grace_us = round(heartbeat_grace_seconds * _US_PER_SECOND)
        self._outbox = outbox  # write outbox rows (monitord/storage/outbox.py) for MQTT
        self._run_id: int | None = None

    @property
    def where(self) -> str:
        return self._where

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @abstractmethod
    async def open(self) -> None:
        """Take the single-writer lock (writers only), then create or migrate the schema."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def _read(self, what: str, work: Work[T]) -> T:
        """Run `work` alone on the connection; driver errors become StorageError naming `what`."""

    @abstractmethod
    async def _write(self, what: str, work: Work[T]) -> T:
        """Run `work` in one transaction: all of it or none, even when the caller is cancelled."""
