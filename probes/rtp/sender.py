"""Send side, pure: when packet n is due, and what packet n is.

Why absolute deadlines: a sender that sleeps "20 ms after the last send"
accumulates every scheduling delay into its stream, and the far end then
measures our jitter as the platform's. Here packet n is due at
``start + n * ptime`` regardless of when packet n-1 actually left; if the
loop wakes late, every overdue packet is sent at once and the schedule is
not shifted. The RTP timestamp of packet n is likewise derived from n
(RFC 3550 §5.1: "the timestamp ... MUST be derived from a clock that
increments monotonically and linearly in time"), never from the wall clock.

The asyncio adapter asks `due(now)` how many packets should have gone by
now, sends the missing ones, and re-arms at `deadline(sent)`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .g711 import FRAME_SAMPLES, ReferenceSignal
from .packet import RtpPacket

__all__ = ["DEFAULT_PTIME", "PacingSchedule", "Packetiser"]

DEFAULT_PTIME = 0.020  # RFC 3551 §4.5: 20 ms is the default packetisation interval


@dataclass(frozen=True, slots=True)
class PacingSchedule:
    """Absolute send deadlines: packet n is due at ``start + n * ptime``.

    `count` bounds the stream (None = unbounded) so `due` never asks for a
    packet past the end of a call of known length.
    """

    start: float
    ptime: float = DEFAULT_PTIME
    count: int | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.start):
            raise ValueError(f"start must be finite, got {self.start!r}")
        if not (math.isfinite(self.ptime) and self.ptime > 0):
            raise ValueError(f"ptime must be a positive number of seconds, got {self.ptime!r}")
        if self.count is not None and self.count < 0:
            raise ValueError(f"count cannot be negative, got {self.count}")

    def deadline(self, n: int) -> float:
        """When packet n (0-based) is due. Multiplied, never summed: no drift."""
        if n < 0:
            raise ValueError(f"packet index cannot be negative, got {n}")
        return self.start + n * self.ptime

    def due(self, now: float) -> int:
        """How many packets (0..n-1) are due by `now`."""
        if now < self.start:
            return 0
        n = math.floor((now - self.start) / self.ptime) + 1
        # Guard the floor against float rounding right at a deadline.
        if self.deadline(n) <= now:
            n += 1
        elif n > 0 and self.deadline(n - 1) > now:
            n -= 1
        return n if self.count is None else min(n, self.count)

    def next_deadline(self, sent: int) -> float | None:
        """When to wake after `sent` packets have gone, or None when the stream is done."""
        if self.count is not None and sent >= self.count:
            return None
        return self.deadline(sent)

    def lateness(self, n: int, sent_at: float) -> float:
        """How late packet n actually left (s): the pacing error the benchmark reports."""
        return sent_at - self.deadline(n)


@dataclass(frozen=True, slots=True)
class Packetiser:
    """Builds packet n of a stream carrying a looping reference signal.

    `first_sequence` and `first_timestamp` should be random (RFC 3550 §5.1:
    "The initial value of the sequence number SHOULD be random", likewise
    the timestamp); the caller draws them so this stays deterministic.
    """

    signal: ReferenceSignal
    ssrc: int
    first_sequence: int
    first_timestamp: int
    payload_type: int | None = None  # None: the law's static type (0 or 8)

    def __post_init__(self) -> None:
        if not 0 <= self.ssrc < 1 << 32:
            raise ValueError(f"SSRC out of range: {self.ssrc}")
        if not 0 <= self.first_sequence < 1 << 16:
            raise ValueError(f"first_sequence out of range: {self.first_sequence}")
        if not 0 <= self.first_timestamp < 1 << 32:
            raise ValueError(f"first_timestamp out of range: {self.first_timestamp}")
        if self.payload_type is not None and not 0 <= self.payload_type <= 127:
            raise ValueError(f"payload type out of range: {self.payload_type}")

    def packet(self, n: int) -> RtpPacket:
        """Packet n (0-based). Only packet 0 carries the marker bit: RFC 3551 §4.1
        sets it on "the first packet in a talkspurt", and the signal never pauses."""
        if n < 0:
            raise ValueError(f"packet index cannot be negative, got {n}")
        frames = self.signal.frames
        return RtpPacket(
            payload_type=self.signal.law.payload_type if self.payload_type is None else self.payload_type,
            sequence=(self.first_sequence + n) % (1 << 16),
            timestamp=(self.first_timestamp + n * FRAME_SAMPLES) % (1 << 32),
            ssrc=self.ssrc,
            payload=frames[n % len(frames)],
            marker=n == 0,
        )
