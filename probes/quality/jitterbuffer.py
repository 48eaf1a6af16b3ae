"""A receiver's jitter buffer, modelled: which packets a phone would have played.

Why: a packet that arrives after its playout instant is as lost to the
listener as one that never came, and phones discard it. Counting only
packets that never arrived rates a jittery path as clean (voip_patrol and
VoIPmonitor count discards for this reason). So every received packet goes
through this model, and its discards count as loss in the E-model, in the
loss-run pattern that gives BurstR, and as missing frames for the audio
check.

The model works on transit times: for packet i, n_i = arrival_i - ts_i/rate
(the RTP timestamp in seconds), whose differences are the delay variation
the buffer must absorb (the constant offset between the clocks cancels).

* fixed: playout is anchored on the first packet, as a fixed buffer is:
  packet i plays at its timestamp + n_0 + `nominal`, so it is discarded when
  n_i - n_0 > nominal. The buffer delay is `nominal`.
* adaptive: the depth follows the delay variation, like the classic
  estimator of Ramjee et al. (1994, algorithm 1) that many phones derive
  from: d = a*d + (1-a)*n, v = a*v + (1-a)*|d - n|, depth = (d - n_min) +
  4v, clamped to [`minimum`, `maximum`], starting at `nominal`. A packet is
  discarded when n_i - n_min exceeds the depth in force when it arrived.
  `a` = 0.96 (a 0.5 s time constant at 20 ms packets) so a short test call
  converges. The buffer delay is the mean depth over played packets.

Pure: `arrive(timestamp_seconds, arrival)` per packet, in arrival order.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from ..errors import InvalidValue

__all__ = ["BufferFigures", "JitterBuffer", "JitterBufferKind", "JitterBufferSettings"]

ALPHA = 0.96


class JitterBufferKind(enum.StrEnum):
    FIXED = "fixed"
    ADAPTIVE = "adaptive"


@dataclass(frozen=True, slots=True)
class JitterBufferSettings:
    kind: JitterBufferKind = JitterBufferKind.ADAPTIVE
    nominal: float = 0.040  # fixed: the depth; adaptive: the starting depth
    minimum: float = 0.020  # adaptive only
    maximum: float = 0.200  # adaptive only

    def __post_init__(self) -> None:
        for name in ("nominal", "minimum", "maximum"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0 <= value <= 2.0):
                raise InvalidValue(f"jitter buffer {name} must be 0..2 s, got {value!r}")
        if self.kind is JitterBufferKind.ADAPTIVE and not (
                self.minimum <= self.nominal <= self.maximum):
            raise InvalidValue("an adaptive jitter buffer needs minimum <= nominal <= maximum")


@dataclass(frozen=True, slots=True)
class BufferFigures:
    played: int
    discarded: int
    mean_delay: float  # seconds the buffer held audio, on average (the E-model's share)
    max_delay: float


class JitterBuffer:
    """One stream's playout decisions (see the module docstring)."""

    __slots__ = ("_d", "_delay_sum", "_depth", "_discarded", "_first", "_max", "_min",
                 "_played", "_s", "_v")

    def __init__(self, settings: JitterBufferSettings | None = None) -> None:
        self._s = settings or JitterBufferSettings()
        self._depth = self._s.nominal
        self._first: float | None = None
        self._min = math.inf
        self._d = 0.0
        self._v = self._s.nominal / 4  # so the depth starts near nominal, then follows
        self._played = 0
        self._discarded = 0
        self._delay_sum = 0.0
        self._max = 0.0

    @property
    def depth(self) -> float:
        return self._depth

    def arrive(self, timestamp: float, arrival: float) -> bool:
        """Whether the packet with this timestamp (s) arriving now would be played."""
        n = arrival - timestamp
        if self._first is None:
            self._first = self._min = self._d = n
        if self._s.kind is JitterBufferKind.FIXED:
            played = n - self._first <= self._depth
        else:
            played = n - self._min <= self._depth
            self._min = min(self._min, n)
            self._d = ALPHA * self._d + (1 - ALPHA) * n
            self._v = ALPHA * self._v + (1 - ALPHA) * abs(self._d - n)
            s = self._s
            self._depth = min(s.maximum, max(s.minimum, (self._d - self._min) + 4 * self._v))
        if played:
            self._played += 1
            self._delay_sum += self._depth
            self._max = max(self._max, self._depth)
        else:
            self._discarded += 1
        return played

    def figures(self) -> BufferFigures:
        mean = self._delay_sum / self._played if self._played else self._depth
        return BufferFigures(self._played, self._discarded, mean, max(self._max, mean))
