"""A call's two directions rated by G.107, from what was measured and nothing flattering.

Per direction the E-model needs a loss percentage, its burstiness and the
mouth-to-ear delay (emodel.py). Where each comes from:

* what we received (rx): our own jitter-buffer model (jitterbuffer.py) ran
  on every packet, so Ppl counts positions never played, lost or discarded
  late; BurstR is G.107's ratio on those same positions (audio.py); the
  buffer delay is the model's mean depth;
* what the far end received (tx), best source first: our answer point's
  audio report (the same figures, computed there); the far end's RFC 3611
  VoIP Metrics (loss + discard rate, burst/gap densities, its nominal
  jitter buffer); else only its RR (network loss, BurstR 1, a nominal buffer
  of twice the reported jitter, never below the configured nominal);
* delay: RTT/2 + buffer + one 20 ms frame (`one_way_delay`), with RTT the
  call's mean over every RTCP sample (else over our echoed packets, else the
  far end's XR round-trip delay).

Without any RTT the network transit is unknown. The rating is then computed
with transit 0, which can only flatter, so it is returned as an estimate
(`estimated=True`) and the probe publishes it under its own name, never as
the call's MOS.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidValue
from ..rtp.rtcp import VoipMetrics
from .emodel import EModelInput, Rating, one_way_delay, rate

__all__ = ["DirectionInput", "DirectionRating", "burst_ratio_from_xr", "rate_direction"]


@dataclass(frozen=True, slots=True)
class DirectionInput:
    """What one direction lost and how long its receiver buffered."""

    loss_ratio: float  # 0..1, discards included
    burst_ratio: float  # G.107 BurstR, >= 1 means bursty
    buffer_delay: float  # seconds
    source: str  # where the figures came from: measured, answer_point, xr, rr

    def __post_init__(self) -> None:
        if not 0 <= self.loss_ratio <= 1:
            raise InvalidValue(f"loss_ratio must be 0..1, got {self.loss_ratio}")
        if not (self.burst_ratio > 0 and self.buffer_delay >= 0):
            raise InvalidValue("burst_ratio must be positive and buffer_delay not negative")


@dataclass(frozen=True, slots=True)
class DirectionRating:
    rating: Rating
    estimated: bool  # no RTT: transit taken as 0 (an upper bound on the MOS)
    one_way_delay: float


def rate_direction(d: DirectionInput, rtt: float | None, plc: bool = True) -> DirectionRating:
    """G.107 rating of one direction (see the module docstring)."""
    delay = one_way_delay(0.0 if rtt is None else rtt, d.buffer_delay)
    rating = rate(EModelInput.voip(one_way_delay=delay, packet_loss=d.loss_ratio,
                                   burst_ratio=max(1.0, d.burst_ratio), plc=plc))
    return DirectionRating(rating, rtt is None, delay)


def burst_ratio_from_xr(m: VoipMetrics, ptime: float = 0.020) -> float:
    """BurstR from an XR VoIP Metrics block's burst/gap figures (RFC 3611 §4.7.2).

    The block describes bursts (mean `burst_duration` ms at loss density
    `burst_density`/256) separated by gaps (`gap_duration` ms, density
    `gap_density`/256; a gap's losses are isolated, Gmin apart). Per burst-gap
    cycle: a gap's losses are runs of one; a burst's losses form runs of the
    length random loss at the burst's density gives, 1/(1-b), at most the
    burst itself. BurstR = mean run length * (1 - overall loss), G.107's ratio.
    """
    b, g = m.burst_density / 256, m.gap_density / 256
    nb, ng = m.burst_duration / 1000 / ptime, m.gap_duration / 1000 / ptime
    lost_b, lost_g = b * nb, g * ng
    if lost_b + lost_g <= 0 or nb + ng <= 0:
        return 1.0
    run_b = min(max(lost_b, 1.0), 1.0 / (1.0 - b)) if b < 1 else max(lost_b, 1.0)
    runs = (lost_b / run_b if lost_b else 0.0) + lost_g
    p = (lost_b + lost_g) / (nb + ng)
    return max(1.0, (lost_b + lost_g) / runs * (1.0 - p))
