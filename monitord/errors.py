"""The one exception tree for monitord.

Every error a user can cause or meet is one of these, with a message a NOC
engineer can act on. Lower-level errors are re-raised as ours with `from exc`.
"""

from __future__ import annotations


class MonitordError(Exception):
    """Base of every error monitord raises on purpose."""


class ConfigError(MonitordError):
    """The configuration cannot be used; `problems` lists every one found."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} configuration error(s):\n{lines}")


class StorageError(MonitordError):
    """The store could not be opened, migrated, read or written."""


class StoreConflictError(StorageError):
    """The store refused a commit because it contradicts the record (a bug, not bad luck)."""


class StoreUnavailableError(StorageError):
    """The store cannot take a write now (failing, or behind with a backlog); retry later."""


class StoreLockedError(StorageError):
    """Another monitord process holds the store's single-writer lock."""


class SchemaVersionError(StorageError):
    """The database was written by a newer monitord than this one."""


class JournalError(StorageError):
    """A fleet agent's local journal cannot be written or read back (docs/fleet.md)."""


class FleetError(MonitordError):
    """A fleet agent or judge cannot run as configured (docs/fleet.md says what is needed)."""


class AlertDeliveryError(MonitordError):
    """An alert provider (Alertmanager, MQTT broker) did not take what we sent; retried."""


class ApiRequestError(MonitordError):
    """A client sent an API request we cannot answer (bad parameter etc.)."""


class SlaError(MonitordError):
    """An SLA report cannot be computed as asked (unknown policy, bad period, bad intervals file)."""
