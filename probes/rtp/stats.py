"""Receive statistics for one RTP source, per RFC 3550 Appendix A.

Pure and clock-free: the caller passes each packet's sequence number, RTP
timestamp and arrival time (seconds on any monotonic clock), so loss,
reordering and jitter are tested on crafted sequences without sleeping.

What is counted, and why it differs slightly from a bare A.1 port:

* A.1 (`update_seq`) decides whether a packet belongs to the stream: a new
  source is on probation until MIN_SEQUENTIAL packets arrive in order; a jump
  of MAX_DROPOUT or more is held until the next packet confirms it (the
  sender restarted); a packet up to MAX_MISORDER behind is late, not new.
  A.1's `received` counts every accepted packet, duplicates included, so
  A.3's "cumulative lost" (`expected - received`) can go negative. We keep
  that figure for RTCP report blocks, where the RFC defines it, and also
  count duplicates separately so `lost` (for quality) is the number of
  sequence positions that never arrived.
* A.3's expected count starts at the packet that ended probation (A.1 calls
  `init_seq` then); the probation packets themselves are not counted.
* Loss bursts (for the E-model's BurstR, ITU-T G.107 §7.5 / G.113 App. I)
  need the loss pattern in sequence order, not arrival order. Each position
  stays open for REORDER_WINDOW positions (more than MAX_MISORDER) so a late
  packet can still fill its gap; after that it is final (received or lost).
  BurstR = observed mean burst length / the mean expected for random loss at
  the same rate, i.e. mean_burst * (1 - p); 1 means random, > 1 bursty.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from ..errors import InvalidValue

__all__ = [
    "MAX_DROPOUT",
    "MAX_MISORDER",
    "MIN_SEQUENTIAL",
    "REORDER_WINDOW",
    "ReceiveStats",
    "ReportFigures",
    "StreamStats",
    "Verdict",
]

# A.1: "MAX_DROPOUT = 3000, MAX_MISORDER = 100, MIN_SEQUENTIAL = 2"
MAX_DROPOUT = 3000
MAX_MISORDER = 100
MIN_SEQUENTIAL = 2
RTP_SEQ_MOD = 1 << 16
REORDER_WINDOW = 128
_WINDOW_MASK = (1 << REORDER_WINDOW) - 1


class Verdict(enum.StrEnum):
    """What `ReceiveStats.receive` made of one packet."""

    ACCEPTED = "accepted"  # in order, or a forward jump (the gap counts as loss until filled)
    REORDERED = "reordered"  # late: it fills an earlier gap
    DUPLICATE = "duplicate"  # a position already received
    PROBATION = "probation"  # source not yet valid (A.1 probation)
    DISCARDED = "discarded"  # a large jump, held until the next packet confirms it (A.1)


@dataclass(frozen=True, slots=True)
class ReportFigures:
    """The receiver-side fields of an RTCP report block (RFC 3550 §6.4.1, A.3)."""

    fraction_lost: int  # 8-bit fixed point, lost/expected in this interval
    cumulative_lost: int  # signed 24-bit, clamped (A.3)
    extended_highest_sequence: int  # cycles + max_seq, mod 2**32
    jitter: int  # timestamp units (A.8)

    def __post_init__(self) -> None:
        if not 0 <= self.fraction_lost <= 255:
            raise InvalidValue(f"fraction_lost must be 0..255, got {self.fraction_lost}")
        if not -(1 << 23) <= self.cumulative_lost < (1 << 23):
            raise InvalidValue(f"cumulative_lost must fit 24 signed bits, got {self.cumulative_lost}")
        if not 0 <= self.extended_highest_sequence < (1 << 32):
            raise InvalidValue("extended_highest_sequence must fit 32 bits")
        if not 0 <= self.jitter < (1 << 32):
            raise InvalidValue("jitter must fit 32 bits")


@dataclass(frozen=True, slots=True)
class StreamStats:
    """A snapshot of one source's receive statistics."""

    valid: bool  # past probation
    received: int  # A.1 count (duplicates included)
    expected: int  # A.3: extended_max - base_seq + 1
    lost: int  # positions never received (duplicates do not hide loss), >= 0
    duplicates: int
    reordered: int
    restarts: int  # A.1 resyncs after a confirmed large jump
    extended_max_sequence: int
    jitter: float  # timestamp units (A.8)
    jitter_seconds: float
    bursts: int  # runs of consecutive lost positions
    mean_burst_length: float  # lost positions per burst (0 when no loss)
    burst_ratio: float  # BurstR, 1.0 when no loss

    def __post_init__(self) -> None:
        for name in ("received", "expected", "lost", "duplicates", "reordered", "restarts", "bursts"):
            if getattr(self, name) < 0:
                raise InvalidValue(f"{name} cannot be negative")
        for name in ("jitter", "jitter_seconds", "mean_burst_length", "burst_ratio"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise InvalidValue(f"{name} must be a non-negative finite number, got {value!r}")

    @property
    def loss_fraction(self) -> float:
        """Lost positions / expected positions (0.0 before any packet)."""
        return self.lost / self.expected if self.expected else 0.0


class _Bursts:
    """Run-length accounting of final positions (received or lost), in sequence order."""

    __slots__ = ("bursts", "in_run", "lost", "positions")

    def __init__(self) -> None:
        self.positions = 0
        self.lost = 0
        self.bursts = 0
        self.in_run = False

    def copy(self) -> _Bursts:
        other = _Bursts()
        other.positions, other.lost, other.bursts, other.in_run = (
            self.positions, self.lost, self.bursts, self.in_run)
        return other

    def add(self, received: bool) -> None:
        self.positions += 1
        if received:
            self.in_run = False
            return
        self.lost += 1
        if not self.in_run:
            self.bursts += 1
            self.in_run = True

    def burst_ratio(self) -> float:
        if not self.lost:
            return 1.0
        p = self.lost / self.positions
        return (self.lost / self.bursts) * (1.0 - p)


class ReceiveStats:
    """Sequence, loss and jitter accounting for one SSRC (RFC 3550 A.1, A.3, A.8)."""

    __slots__ = (
        "_bad_seq",
        "_base_seq",
        "_bursts",
        "_clock_rate",
        "_cycles",
        "_duplicates",
        "_expected_prior",
        "_jitter",
        "_last_arrival",
        "_last_timestamp",
        "_mask",
        "_max_seq",
        "_probation",
        "_received",
        "_received_prior",
        "_reordered",
        "_restarts",
        "_started",
        "_window_len",
    )

    def __init__(self, clock_rate: int = 8000) -> None:
        if clock_rate <= 0:
            raise InvalidValue(f"clock_rate must be positive, got {clock_rate}")
        self._clock_rate = clock_rate
        self._started = False
        self._probation = MIN_SEQUENTIAL
        self._max_seq = 0
        self._base_seq = 0
        self._bad_seq = RTP_SEQ_MOD + 1
        self._zero_counts()
        self._restarts = 0
        self._jitter = 0.0
        self._last_arrival: float | None = None
        self._last_timestamp = 0
        self._mask = 0  # bit i set: position (extended max - i) received
        self._window_len = 0  # positions of the stream inside the window
        self._bursts = _Bursts()

    # -- A.1 -------------------------------------------------------------------

    def _zero_counts(self) -> None:
        self._cycles = 0  # count of wraps, shifted left 16 bits, as in A.1
        self._received = 0
        self._received_prior = 0
        self._expected_prior = 0
        self._duplicates = 0
        self._reordered = 0

    def _init_seq(self, seq: int) -> None:
        self._base_seq = seq
        self._max_seq = seq
        self._bad_seq = RTP_SEQ_MOD + 1  # so seq == bad_seq is false
        self._zero_counts()
        self._flush_window()
        self._mask = 1
        self._window_len = 1

    def receive(self, sequence: int, timestamp: int, arrival: float, *,
                timing: bool = True) -> Verdict:
        """Account for one packet: its sequence number, RTP timestamp, arrival (s).

        `timing=False` leaves the jitter alone: an RFC 4733 event packet carries
        its event's start timestamp, not its own sampling instant (§2.5.1.2)."""
        if not 0 <= sequence < RTP_SEQ_MOD:
            raise InvalidValue(f"sequence number out of range: {sequence}")
        if not 0 <= timestamp < (1 << 32):
            raise InvalidValue(f"timestamp out of range: {timestamp}")
        if not math.isfinite(arrival):
            raise InvalidValue(f"arrival must be finite, got {arrival!r}")
        verdict = self._update_seq(sequence)
        if timing and verdict in (Verdict.ACCEPTED, Verdict.REORDERED):
            self._update_jitter(timestamp, arrival)
        return verdict

    def _update_seq(self, seq: int) -> Verdict:
        if not self._started:
            # A.1: "init_seq(s, seq); s->max_seq = seq - 1; s->probation = MIN_SEQUENTIAL"
            self._started = True
            self._init_seq(seq)
            self._window_len = 0
            self._mask = 0
            self._max_seq = (seq - 1) % RTP_SEQ_MOD
            self._probation = MIN_SEQUENTIAL
        udelta = (seq - self._max_seq) % RTP_SEQ_MOD
        if self._probation:
            # A.1: packets must arrive in sequence during probation.
            if seq == (self._max_seq + 1) % RTP_SEQ_MOD:
                self._probation -= 1
                self._max_seq = seq
                if self._probation == 0:
                    self._init_seq(seq)
                    self._received += 1
                    return Verdict.ACCEPTED
            else:
                self._probation = MIN_SEQUENTIAL - 1
                self._max_seq = seq
            return Verdict.PROBATION
        if udelta < MAX_DROPOUT:
            # In order, with a permissible gap (udelta 0 is a duplicate of the newest).
            if udelta == 0:
                self._received += 1
                self._duplicates += 1
                return Verdict.DUPLICATE
            if seq < self._max_seq:
                self._cycles += RTP_SEQ_MOD  # A.1: "Sequence number wrapped - count another 64K cycle."
            self._max_seq = seq
            self._advance(udelta)
            self._received += 1
            return Verdict.ACCEPTED
        if udelta <= RTP_SEQ_MOD - MAX_MISORDER:
            # A.1: "the sequence number made a very large jump"
            if seq == self._bad_seq:
                # "Two sequential packets -- assume that the other side restarted
                # without telling us so just re-sync."
                self._restarts += 1
                self._init_seq(seq)
                self._received += 1
                return Verdict.ACCEPTED
            self._bad_seq = (seq + 1) & (RTP_SEQ_MOD - 1)
            return Verdict.DISCARDED
        # A.1: "duplicate or reordered packet"
        self._received += 1
        behind = RTP_SEQ_MOD - udelta
        if behind < self._window_len:
            bit = 1 << behind
            if self._mask & bit:
                self._duplicates += 1
                return Verdict.DUPLICATE
            self._mask |= bit
        self._reordered += 1
        return Verdict.REORDERED

    def _advance(self, step: int) -> None:
        """Move the window's newest position forward by `step`; the new one was received."""
        total = self._window_len + step
        overflow = total - REORDER_WINDOW
        if overflow > 0:
            for k in range(overflow):  # oldest first; the new position never leaves
                if k < self._window_len:
                    self._bursts.add(bool((self._mask >> (self._window_len - 1 - k)) & 1))
                else:
                    self._bursts.add(False)  # skipped over and now too old to arrive
            self._window_len = REORDER_WINDOW
        else:
            self._window_len = total
        self._mask = ((self._mask << step) | 1) & _WINDOW_MASK

    def _flush_window(self) -> None:
        for k in range(self._window_len):
            self._bursts.add(bool((self._mask >> (self._window_len - 1 - k)) & 1))
        self._mask = 0
        self._window_len = 0

    # -- A.8 -------------------------------------------------------------------

    def _update_jitter(self, timestamp: int, arrival: float) -> None:
        if self._last_arrival is not None:
            # D(i-1,i) = (Rj - Ri) - (Sj - Si); the timestamp difference is taken
            # modulo 2**32 as a signed number so a timestamp wrap is not a jump.
            sent = (timestamp - self._last_timestamp) % (1 << 32)
            if sent >= 1 << 31:
                sent -= 1 << 32
            d = abs((arrival - self._last_arrival) * self._clock_rate - sent)
            # A.8: "J(i) = J(i-1) + (|D(i-1,i)| - J(i-1))/16"
            self._jitter += (d - self._jitter) / 16.0
        self._last_arrival = arrival
        self._last_timestamp = timestamp

    # -- A.3 -------------------------------------------------------------------

    @property
    def _extended_max(self) -> int:
        return self._cycles + self._max_seq

    @property
    def _expected(self) -> int:
        return self._extended_max - self._base_seq + 1 if self.valid else 0

    @property
    def valid(self) -> bool:
        return self._started and self._probation == 0

    def report(self) -> ReportFigures:
        """Figures for the next RTCP report block; starts a new interval (A.3)."""
        expected = self._expected
        lost = max(-(1 << 23), min((1 << 23) - 1, expected - self._received))
        expected_interval = expected - self._expected_prior
        self._expected_prior = expected
        received_interval = self._received - self._received_prior
        self._received_prior = self._received
        lost_interval = expected_interval - received_interval
        if expected_interval == 0 or lost_interval <= 0:
            fraction = 0
        else:
            fraction = min(255, (lost_interval << 8) // expected_interval)
        return ReportFigures(
            fraction_lost=fraction,
            cumulative_lost=lost,
            extended_highest_sequence=self._extended_max % (1 << 32) if self.valid else 0,
            jitter=min(int(self._jitter), (1 << 32) - 1),
        )

    def snapshot(self) -> StreamStats:
        """Current statistics; positions still open for reordering count as lost."""
        expected = self._expected
        bursts = self._bursts.copy()
        for k in range(self._window_len):
            bursts.add(bool((self._mask >> (self._window_len - 1 - k)) & 1))
        return StreamStats(
            valid=self.valid,
            received=self._received,
            expected=expected,
            lost=max(0, expected - (self._received - self._duplicates)),
            duplicates=self._duplicates,
            reordered=self._reordered,
            restarts=self._restarts,
            extended_max_sequence=self._extended_max if self.valid else 0,
            jitter=self._jitter,
            jitter_seconds=self._jitter / self._clock_rate,
            bursts=bursts.bursts,
            mean_burst_length=bursts.lost / bursts.bursts if bursts.bursts else 0.0,
            burst_ratio=bursts.burst_ratio(),
        )
