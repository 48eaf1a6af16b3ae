"""How fast this core runs Python right now, so a bench can say when its host changed speed.

Why: the benches compare two phases measured one after the other (the daemon, then
SIPp). On a shared host the same pinned core ran the same piece of Python 2.4x
slower a few minutes apart (2026-12-01), which moves either side of a ratio by
as much as any change to the code. Each phase takes a reading; the run ends with
the spread, and a warning when it is large enough to make the ratio unreliable.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Collection
from dataclasses import dataclass, field

# Readings further apart than this make a ratio of two phases unreliable.
SPREAD_WARNING = 1.25


def calibrate(rounds: int = 5) -> float:
    """Microseconds one fixed piece of pure Python takes (the least of `rounds`, as timeit
    reports: the least disturbed run is the core's speed, not the noise on it)."""
    best = float("inf")
    enabled = gc.isenabled()
    gc.disable()  # the core's speed, not the collector's view of what the last phase left
    try:
        for _ in range(rounds):
            t0 = time.perf_counter()
            for _ in range(50):
                table: dict[int, list[int]] = {}
                for i in range(200):
                    table.setdefault(i % 7, []).append(i)
            best = min(best, (time.perf_counter() - t0) / 50 * 1e6)
    finally:
        if enabled:
            gc.enable()
    return best


@dataclass
class HostSpeed:
    """The readings of one run, by phase."""

    readings: list[tuple[str, float]] = field(default_factory=list)

    def read(self, phase: str) -> float:
        us = calibrate()
        self.readings.append((phase, us))
        return us

    def spread(self, phases: Collection[str] | None = None) -> float:
        """Slowest reading over fastest among `phases` (all when None); 1.0: one speed."""
        values = [us for phase, us in self.readings if phases is None or phase in phases]
        return max(values) / min(values) if values else 1.0

    def summary(self, compared: Collection[str] | None = None) -> str:
        """Every reading, and a warning when the phases a ratio is taken from (`compared`;
        all when None) ran at different speeds. A ramp step that ran slow elsewhere
        is visible in the list: it may have failed for the host's sake."""
        values = ", ".join(f"{phase} {us:.1f}" for phase, us in self.readings)
        spread = self.spread(compared)
        which = "" if compared is None else f" ({', '.join(compared)})"
        line = (f"host speed (us per calibration loop, lower is faster): {values};"
                f" spread{which} {spread:.2f}x")
        if spread > SPREAD_WARNING:
            line += (f"\nWARNING: this core's speed changed by more than {SPREAD_WARNING:.2f}x"
                     " between the phases compared (a shared host): the ratio is not"
                     " reliable, run again")
        return line
