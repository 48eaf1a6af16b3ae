"""The SQLite backend: the embedded default, one file next to the daemon."""

from monitord.storage.sqlite.store import SqliteStore
from monitord.storage.timestamps import datetime_to_us, us_to_datetime

__all__ = ["SqliteStore", "datetime_to_us", "us_to_datetime"]
