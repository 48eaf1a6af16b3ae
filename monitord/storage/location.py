"""Where `daemon.storage` points: a SQLite file (the default) or a PostgreSQL database.

Why its own module: the config validates the value when it is loaded (a bad
URL is a config error naming the key and line), and the store factory reads
the same parse; neither needs a database driver for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["PostgresLocation", "SqliteLocation", "StorageLocation", "parse_storage"]

_SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True, slots=True)
class SqliteLocation:
    path: Path


@dataclass(frozen=True, slots=True)
class PostgresLocation:
    """A libpq-style URL without a password (that comes from a file or the environment)."""

    url: str


StorageLocation = SqliteLocation | PostgresLocation


def parse_storage(value: str) -> StorageLocation:
    """`postgresql://[user@]host[:port]/database[?param=...]`, or else a file path.

    Raises ValueError with what to write instead.
    """
    text = value.strip()
    scheme, sep, _ = text.partition("://")
    if not sep or scheme.lower() not in _SCHEMES:
        if not text:
            raise ValueError("daemon.storage is empty: give a file path or a postgresql:// URL")
        return SqliteLocation(Path(text))
    form = "postgresql://user@host[:port]/database"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"invalid PostgreSQL URL {text!r}: {exc}; use {form}") from None
    if parts.password is not None:
        raise ValueError(
            "keep the password out of daemon.storage (it would show in logs and process "
            "lists): put it in daemon.storage_password_file, or daemon.storage_password: ${VAR}"
        )
    if not parts.hostname and "host=" not in parts.query:
        raise ValueError(f"PostgreSQL URL {text!r} names no host; use {form}")
    if not parts.path.strip("/"):
        raise ValueError(f"PostgreSQL URL {text!r} names no database; use {form}")
    if port == 0:
        raise ValueError(f"PostgreSQL URL {text!r} has port 0; use {form}")
    return PostgresLocation(text)
