"""Stores: one interface (`Store`), one contract test suite, SQLite as the embedded default."""

from monitord.storage.base import (
    DowntimeRecord,
    EpisodeRecord,
    GapRecord,
    OutboxRecord,
    ProbeRollup,
    ProbeSample,
    Store,
)

__all__ = [
    "DowntimeRecord",
    "EpisodeRecord",
    "GapRecord",
    "OutboxRecord",
    "ProbeRollup",
    "ProbeSample",
    "Store",
]
