"""Retry delays for unreachable peers, as a sans-IO value: no sleeping inside.

Exponential with a cap, so a peer that is down for hours is retried every
`maximum` seconds rather than hammered or forgotten, and with jitter, so an
HA pair of daemons that lost the same peer do not retry in lock-step. The
random source is injected, so tests get exact delays.
"""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """`next_delay()` after each failure, `reset()` after a success."""

    def __init__(
        self,
        initial: float = 0.5,
        maximum: float = 30.0,
        *,
        factor: float = 2.0,
        jitter: float = 0.1,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if not 0 < initial <= maximum:
            raise ValueError(f"backoff needs 0 < initial <= maximum, got {initial}, {maximum}")
        if factor < 1 or not 0 <= jitter < 1:
            raise ValueError(f"backoff needs factor >= 1 and 0 <= jitter < 1, got {factor}, {jitter}")
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
        self._rand = rand
        self.attempts = 0

    def next_delay(self) -> float:
        """The wait before the next attempt; jitter only ever shortens it, never past the cap."""
        base = min(self.maximum, self.initial * self.factor ** min(self.attempts, 64))
        self.attempts += 1
        return base * (1.0 - self.jitter * self._rand())

    def reset(self) -> None:
        self.attempts = 0
