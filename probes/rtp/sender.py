"""Send side, pure: when packet n is due, and what packet n is.

Why absolute deadlines: a sender that sleeps "20 ms after the last send"
accumulates every scheduling delay into its stream, and the far end then
measures our jitter as the platform's. Here packet n is due at
``start + n * ptime`` regardless of when packet n-1 actually left; if the
loop wakes late, every overdue packet is sent at once and the schedule is
not shifted. The RTP timestamp of packet n is likewise derived from n
(RFC 3550 §5.1: "the timestamp ... MUST be derived from a clock that
increments monotonically and linearly in time"), never from the wall clock.

The asyncio adapter asks `due(now + LEAD)` how many packets should have gone
by now, sends the missing ones, and re-arms at `deadline(sent) - LEAD`.

Why the lead: asyncio hands epoll a timeout rounded *up* to whole
milliseconds and the kernel adds its timer slack, so a timer armed exactly at
a deadline fires 0-1.1 ms late (p50 0.8 ms, p99 2 ms measured on one call),
never early. Arming `lead` before the deadline and sending whatever is due
within `lead` of the wake centres the error on zero. The right lead depends
on load: an idle loop sleeps in epoll and wakes ~0.5-0.9 ms after the armed
time; a loop busy with 200 calls wakes for someone else's packet and runs
our timer within microseconds, where a fixed 1 ms lead would make every
packet 1 ms early. So `WakeLead` tracks the observed wake delay (an EWMA)
and the lead follows it. A precise finish (spinning on the clock for the last
fraction of a millisecond) would tighten it further, but costs CPU per packet
per call and blocks every other call's packets on the same loop while it
spins (10,000 spins a second at 200 calls), so we do not. The error thus
counts both ways: the benchmark reports its absolute value; `lateness` keeps
the sign.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InvalidValue
from .g711 import FRAME_SAMPLES, ReferenceSignal
from .packet import RtpPacket

__all__ = ["DEFAULT_PTIME", "PacingSchedule", "Packetiser", "WakeLead"]

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
            raise InvalidValue(f"start must be finite, got {self.start!r}")
        if not (math.isfinite(self.ptime) and self.ptime > 0):
            raise InvalidValue(f"ptime must be a positive number of seconds, got {self.ptime!r}")
        if self.count is not None and self.count < 0:
            raise InvalidValue(f"count cannot be negative, got {self.count}")

    def deadline(self, n: int) -> float:
        """When packet n (0-based) is due. Multiplied, never summed: no drift."""
        if n < 0:
            raise InvalidValue(f"packet index cannot be negative, got {n}")
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
        """How late packet n actually left (s; negative: early). Its absolute value is
        the pacing error the benchmark reports."""
        return sent_at - self.deadline(n)


@dataclass(slots=True)
class WakeLead:
    """How early to arm the send timer: the EWMA of how late the loop ran it.

    Fed the observed delay (run time - armed time) of each wake; clamped to
    `[0, limit]` so one long stall (GC, a busy neighbour) cannot make the
    sender run far ahead of its deadlines.
    """

    lead: float = 0.0005  # a middle guess until wakes are observed
    gain: float = 0.1
    limit: float = 0.001  # the most the ms rounding can explain

    def observe(self, delay: float) -> None:
        self.lead += (min(max(delay, 0.0), self.limit) - self.lead) * self.gain


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
            raise InvalidValue(f"SSRC out of range: {self.ssrc}")
        if not 0 <= self.first_sequence < 1 << 16:
            raise InvalidValue(f"first_sequence out of range: {self.first_sequence}")
        if not 0 <= self.first_timestamp < 1 << 32:
            raise InvalidValue(f"first_timestamp out of range: {self.first_timestamp}")
        if self.payload_type is not None and not 0 <= self.payload_type <= 127:
            raise InvalidValue(f"payload type out of range: {self.payload_type}")

    def packet(self, n: int) -> RtpPacket:
        """Packet n (0-based). Only packet 0 carries the marker bit: RFC 3551 §4.1
        sets it on "the first packet in a talkspurt", and the signal never pauses."""
        if n < 0:
            raise InvalidValue(f"packet index cannot be negative, got {n}")
        frames = self.signal.frames
        return RtpPacket(
            payload_type=self.signal.law.payload_type if self.payload_type is None else self.payload_type,
            sequence=(self.first_sequence + n) % (1 << 16),
            timestamp=(self.first_timestamp + n * FRAME_SAMPLES) % (1 << 32),
            ssrc=self.ssrc,
            payload=frames[n % len(frames)],
            marker=n == 0,
        )
