"""Windows stored at run time (API, CLI) in the engine's vocabulary.

Why here: reports, the maintenance calendar and the gauges must judge a
stored window exactly like a configured one (kind, notice, services).
"""

from __future__ import annotations

from collections.abc import Sequence

from monitord.sla.config import MaintenanceConfig, OneOffWindow
from monitord.storage.records import MaintenanceRecord

__all__ = ["as_window", "merged"]


def as_window(rec: MaintenanceRecord) -> OneOffWindow:
    """A stored window in the engine's vocabulary (named `api-<id>` in reports)."""
    return OneOffWindow.model_validate(
        {
            "name": f"api-{rec.id}",
            "kind": rec.kind,
            "services": [rec.service],
            "start": rec.start,
            "end": rec.end,
            "announced_at": rec.announced_at,
            "reason": rec.reason,
        }
    )


def merged(configured: MaintenanceConfig, records: Sequence[MaintenanceRecord]
           ) -> MaintenanceConfig:
    """Configured windows plus the live stored ones, judged alike (kind, notice, services)."""
    live = [as_window(r) for r in records if r.deleted_at is None]
    if not live:
        return configured
    return MaintenanceConfig(recurring=configured.recurring, windows=[*configured.windows, *live])
