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

    @property
    def spread(self) -> float:
        """Slowest reading over fastest (1.0: the host ran at one speed)."""
        values = [us for _, us in self.readings]
        return max(values) / min(values) if values else 1.0

    def summary(self) -> str:
        values = ", ".join(f"{phase} {us:.1f}" for phase, us in self.readings)
        line = (f"host speed (us per calibration loop, lower is faster): {values};"
                f" spread {self.spread:.2f}x")
        if self.spread > SPREAD_WARNING:
            line += (f"\nWARNING: this core's speed changed by more than {SPREAD_WARNING:.2f}x"
                     " during the run (a shared host): the phases are not comparable, run again")
        return line
