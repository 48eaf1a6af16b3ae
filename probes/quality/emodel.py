"""ITU-T G.107 E-model: transmission rating R and MOS for a measured call.

Why the E-model: the SLA threshold "MOS below 3.5" (XTIUM §1) needs a MOS
we can defend, and G.107 is the ITU-T's planning model that turns delay,
echo, codec and packet loss into one rating. Everything here follows the
equations of G.107 §7 (numbering of the 06/2015 edition) with the default
values of its Table 3; the only inputs a synthetic call measures are the
one-way delay, the packet-loss percentage and its burstiness.

    R = Ro - Is - Id - Ie,eff + A                                    (7-1)

* Ro, basic signal-to-noise ratio from circuit and room noise (§7.2);
* Is, impairments simultaneous with speech: loudness, sidetone,
  quantisation (§7.3);
* Id = Idte + Idle + Idd: talker echo, listener echo, absolute delay (§7.4);
* Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl/BurstR + Bpl), packet loss (§7.5);
* A, the advantage factor (§7.6), 0 for a fixed line.

With every default the model gives R = 93.2 (§7.7), i.e. MOS 4.41; note
that it is Ro - Is - Id with a small listener-echo Idle (about 0.15) that
makes 93.2, Ro - Is alone is about 93.35.

Delay for a VoIP call (see `one_way_delay`): G.107 needs the mean one-way
delay T (talker-echo path), the round-trip delay Tr of the 4-wire loop
(listener echo) and the absolute delay Ta. For a packet call with echo
cancelled at the terminals, T = Ta = the mouth-to-ear one-way delay and
Tr = 2T; that is what `EModelInput.voip` sets.

Not modelled: the STMR < 9 dB branch of the talker-echo term (outside the
G.107 planning range 10..20 dB; such inputs are rejected) and the newer
delay-sensitivity parameters sT/mT (their defaults reduce to the classic
Idd used here).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from ..errors import InvalidValue

__all__ = [
    "BPL_G711_NO_PLC",
    "BPL_G711_PLC",
    "EModelInput",
    "Rating",
    "mos_from_r",
    "one_way_delay",
    "rate",
]

# G.113 Appendix I, Table I.3 (as used by G.107 §7.5): G.711 with packet-loss
# concealment (Appendix I of G.711) and without it.
BPL_G711_PLC = 25.1
BPL_G711_NO_PLC = 4.3

# G.107 Table 3 "permitted range" per parameter: outside it the model is an
# extrapolation (reported by `EModelInput.outside_planning_range`).
_PLANNING_RANGE: dict[str, tuple[float, float]] = {
    "slr": (0, 18), "rlr": (-5, 14), "stmr": (10, 20), "lstr": (13, 23),
    "ds": (-3, 3), "dr": (-3, 3), "telr": (5, 65), "wepl": (5, 110),
    "t": (0, 500), "tr": (0, 1000), "ta": (0, 500), "qdu": (1, 14),
    "ie": (0, 40), "bpl": (1, 40), "ppl": (0, 20), "burst_r": (1, 8),
    "nc": (-80, -40), "nfor": (-80, -60), "ps": (35, 85), "pr": (35, 85),
    "a": (0, 20),
}


@dataclass(frozen=True, slots=True)
class EModelInput:
    """G.107 parameters in the Recommendation's own units (dB, ms, %).

    Defaults are those of G.107 Table 3. Values outside Table 3's planning
    ranges are accepted (a monitored call can have 600 ms or 30 % loss) but
    listed by `outside_planning_range`, so a report can say the MOS is an
    extrapolation; values that make the equations meaningless are rejected.
    """

    slr: float = 8.0  # send loudness rating, dB
    rlr: float = 2.0  # receive loudness rating, dB
    stmr: float = 15.0  # sidetone masking rating, dB
    lstr: float = 18.0  # listener sidetone rating, dB
    ds: float = 3.0  # D-value of telephone, send side
    dr: float = 3.0  # D-value of telephone, receive side
    telr: float = 65.0  # talker echo loudness rating, dB
    wepl: float = 110.0  # weighted echo path loss, dB
    t: float = 0.0  # mean one-way delay of the echo path, ms
    tr: float = 0.0  # round-trip delay in a 4-wire loop, ms
    ta: float = 0.0  # absolute delay in echo-free connections, ms
    qdu: float = 1.0  # number of quantisation distortion units
    ie: float = 0.0  # equipment impairment factor (G.711: 0)
    bpl: float = 1.0  # packet-loss robustness factor
    ppl: float = 0.0  # random packet-loss probability, %
    burst_r: float = 1.0  # burst ratio (1 = random loss)
    nc: float = -70.0  # circuit noise referred to the 0 dBr point, dBm0p
    nfor: float = -64.0  # noise floor at the receive side, dBmp
    ps: float = 35.0  # room noise at the send side, dB(A)
    pr: float = 35.0  # room noise at the receive side, dB(A)
    a: float = 0.0  # advantage factor

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise InvalidValue(f"{f.name} must be a finite number, got {value!r}")
        for name in ("t", "tr", "ta"):
            if getattr(self, name) < 0:
                raise InvalidValue(f"{name} (a delay in ms) cannot be negative")
        if self.qdu < 1:
            raise InvalidValue("qdu must be at least 1")
        if not 0 <= self.ppl <= 100:
            raise InvalidValue(f"ppl is a percentage, got {self.ppl}")
        if self.bpl <= 0 or self.burst_r <= 0:
            raise InvalidValue("bpl and burst_r must be positive")
        if not 0 <= self.ie <= 95:
            raise InvalidValue("ie must be within 0..95")
        if self.stmr < 9:
            raise InvalidValue("STMR below 9 dB needs G.107's low-sidetone branch, which is not modelled")

    @classmethod
    def voip(
        cls,
        *,
        one_way_delay: float,
        packet_loss: float,
        burst_ratio: float = 1.0,
        plc: bool = True,
        ie: float = 0.0,
        bpl: float | None = None,
    ) -> EModelInput:
        """Inputs for a G.711 packet call from what the probe measures.

        `one_way_delay` in seconds (see `one_way_delay`), `packet_loss` as a
        fraction 0..1 (G.107's Ppl is in %), `burst_ratio` as measured by
        `probes.rtp.stats`. T = Ta = one-way delay, Tr = 2T (echo-cancelled
        terminals: only the round trip of the 4-wire loop returns echo).
        """
        if not 0 <= packet_loss <= 1:
            raise InvalidValue(f"packet_loss is a fraction 0..1, got {packet_loss}")
        if not (math.isfinite(one_way_delay) and one_way_delay >= 0):
            raise InvalidValue(f"one_way_delay must be non-negative seconds, got {one_way_delay}")
        ms = one_way_delay * 1000
        if bpl is None:
            bpl = BPL_G711_PLC if plc else BPL_G711_NO_PLC
        return cls(t=ms, ta=ms, tr=2 * ms, ppl=packet_loss * 100, burst_r=burst_ratio, ie=ie, bpl=bpl)

    def outside_planning_range(self) -> tuple[str, ...]:
        """Names of parameters outside G.107 Table 3's permitted ranges."""
        return tuple(
            name for name, (low, high) in _PLANNING_RANGE.items()
            if not low <= getattr(self, name) <= high
        )


@dataclass(frozen=True, slots=True)
class Rating:
    """R and its terms, so a report can say which impairment dominated."""

    ro: float
    is_: float
    idte: float
    idle: float
    idd: float
    ie_eff: float
    a: float
    r: float
    mos: float

    def __post_init__(self) -> None:
        for f in fields(self):
            if not math.isfinite(getattr(self, f.name)):
                raise InvalidValue(f"{f.name} is not finite")
        if not 1.0 <= self.mos <= 4.5:
            raise InvalidValue(f"MOS out of 1..4.5: {self.mos}")

    @property
    def id(self) -> float:
        """Delay impairment Id = Idte + Idle + Idd (7-20)."""
        return self.idte + self.idle + self.idd


def _db_sum(*levels: float) -> float:
    return 10 * math.log10(sum(10 ** (level / 10) for level in levels))


def rate(p: EModelInput) -> Rating:
    """Compute R (7-1) and the MOS (Annex B) from G.107 parameters."""
    olr = p.slr + p.rlr  # OLR = SLR + RLR
    # §7.2 Ro = 15 - 1.5(SLR + No), No the power addition of four noise sources.
    nos = p.ps - p.slr - p.ds - 100 + 0.004 * (p.ps - olr - p.ds - 14) ** 2  # send-side room noise
    pre = p.pr + 10 * math.log10(1 + 10 ** ((10 - p.lstr) / 10))  # receive room noise with sidetone
    nor = p.rlr - 121 + pre + 0.008 * (pre - 35) ** 2  # receive-side room noise
    nfo = p.nfor + p.rlr  # noise floor
    no = _db_sum(p.nc, nos, nor, nfo)
    ro = 15 - 1.5 * (p.slr + no)

    # §7.3 Is = Iolr + Ist + Iq.
    xolr = olr + 0.2 * (64 + no - p.rlr)
    iolr = 20 * ((1 + (xolr / 8) ** 8) ** (1 / 8) - xolr / 8)
    # STMRo: sidetone masking including the talker echo returned within T/4 (7-12).
    stmro = -10 * math.log10(10 ** (-p.stmr / 10) + math.exp(-p.t / 4) * 10 ** (-p.telr / 10))
    ist = (
        12 * (1 + ((stmro - 13) / 6) ** 8) ** (1 / 8)
        - 28 * (1 + ((stmro + 1) / 19.4) ** 35) ** (1 / 35)
        - 13 * (1 + ((stmro - 3) / 33) ** 13) ** (1 / 13)
        + 29
    )
    q = 37 - 15 * math.log10(p.qdu)
    g = 1.07 + 0.258 * q + 0.0602 * q**2
    y = (ro - 100) / 15 + 46 / 8.4 - g / 9
    z = 46 / 30 - g / 40
    iq = 15 * math.log10(1 + 10**y + 10**z)
    is_ = iolr + ist + iq

    # §7.4 Idte, talker echo: "for T < 1 ms, talker echo is sidetone: Idte = 0".
    if p.t < 1:
        idte = 0.0
    else:
        terv = p.telr - 40 * math.log10((1 + p.t / 10) / (1 + p.t / 150)) + 6 * math.exp(-0.3 * p.t**2)
        roe = -1.5 * (no - p.rlr)
        re = 80 + 2.5 * (terv - 14)
        idte = ((roe - re) / 2 + math.sqrt((roe - re) ** 2 / 4 + 100) - 1) * (1 - math.exp(-p.t))
    # Idle, listener echo over the 4-wire round trip Tr.
    rle = 10.5 * (p.wepl + 7) * (p.tr + 1) ** -0.25
    idle = (ro - rle) / 2 + math.sqrt((ro - rle) ** 2 / 4 + 169)
    # Idd, absolute delay: none up to 100 ms.
    if p.ta <= 100:
        idd = 0.0
    else:
        x = math.log10(p.ta / 100) / math.log10(2)
        idd = 25 * ((1 + x**6) ** (1 / 6) - 3 * (1 + (x / 3) ** 6) ** (1 / 6) + 2)

    # §7.5 Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl/BurstR + Bpl).
    ie_eff = p.ie + (95 - p.ie) * p.ppl / (p.ppl / p.burst_r + p.bpl)

    r = ro - is_ - (idte + idle + idd) - ie_eff + p.a
    return Rating(ro, is_, idte, idle, idd, ie_eff, p.a, r, mos_from_r(r))


def mos_from_r(r: float) -> float:
    """Estimated conversational MOS from R (G.107 Annex B, (B-4)).

    MOS = 1 for R < 0; 1 + 0.035R + R(R - 60)(100 - R)7e-6 for 0 < R < 100;
    4.5 for R > 100. The cubic dips slightly under 1 for R below about 6.5,
    so the result is clamped to 1..4.5, the MOS scale.
    """
    if not math.isfinite(r):
        raise InvalidValue(f"R must be finite, got {r!r}")
    if r <= 0:
        return 1.0
    if r >= 100:
        return 4.5
    mos = 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6
    return min(4.5, max(1.0, mos))


def one_way_delay(rtt: float, jitter_buffer: float, packetisation: float = 0.020) -> float:
    """Mouth-to-ear delay estimate (s) for the E-model's T and Ta.

    one-way = RTT/2 + jitter-buffer delay + packetisation, where RTT/2 is the
    network transit (RTCP §6.4.1 RTT, assumed symmetric), the jitter buffer
    is the playout delay the receiver adds (nominal buffer depth, e.g. from
    XR VoIP Metrics JB nominal, or our own), and packetisation is one frame
    time (20 ms for G.711 at ptime 20: the first sample of a packet waits for
    the last). Codec look-ahead is zero for G.711.
    """
    for name, value in (("rtt", rtt), ("jitter_buffer", jitter_buffer), ("packetisation", packetisation)):
        if not (math.isfinite(value) and value >= 0):
            raise InvalidValue(f"{name} must be non-negative seconds, got {value!r}")
    return rtt / 2 + jitter_buffer + packetisation
