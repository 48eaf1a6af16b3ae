"""The PostgreSQL backend: the shared store of a fleet (`daemon.storage: postgresql://...`)."""

from monitord.storage.postgresql.store import PostgresStore

__all__ = ["PostgresStore"]
