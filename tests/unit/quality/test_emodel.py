"""The E-model against G.107's definitions, written out again here as the oracle.

The oracle below is a plain transcription of G.107 §7 (06/2015) equations,
kept separate from the implementation (one function, G.107's own variable
names) so a slip in either shows up as a mismatch. Some points are also
checked by hand arithmetic in the comments.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probes.quality.emodel import (
    BPL_G711_NO_PLC,
    BPL_G711_PLC,
    EModelInput,
    mos_from_r,
    one_way_delay,
    rate,
)


def g107_r(T: float, Tr: float, Ta: float, Ppl: float, BurstR: float, Bpl: float, Ie: float = 0.0) -> float:
    """G.107 R with Table 3 defaults for everything except the arguments."""
    SLR, RLR, STMR, LSTR, Ds, TELR, WEPL, qdu = 8, 2, 15, 18, 3, 65, 110, 1
    Nc, Nfor, Ps, Pr, A = -70, -64, 35, 35, 0
    OLR = SLR + RLR
    Nfo = Nfor + RLR  # (7-6)
    Pre = Pr + 10 * math.log10(1 + 10 ** ((10 - LSTR) / 10))  # (7-5)
    Nor = RLR - 121 + Pre + 0.008 * (Pre - 35) ** 2  # (7-4)
    Nos = Ps - SLR - Ds - 100 + 0.004 * (Ps - OLR - Ds - 14) ** 2  # (7-3)
    No = 10 * math.log10(10 ** (Nc / 10) + 10 ** (Nos / 10) + 10 ** (Nor / 10) + 10 ** (Nfo / 10))  # (7-2)
    Ro = 15 - 1.5 * (SLR + No)  # (7-2)
    Xolr = OLR + 0.2 * (64 + No - RLR)  # (7-9)
    Iolr = 20 * ((1 + (Xolr / 8) ** 8) ** (1 / 8) - Xolr / 8)  # (7-8)
    STMRo = -10 * math.log10(10 ** (-STMR / 10) + math.exp(-T / 4) * 10 ** (-TELR / 10))  # (7-11)
    Ist = (  # (7-10)
        12 * (1 + ((STMRo - 13) / 6) ** 8) ** (1 / 8)
        - 28 * (1 + ((STMRo + 1) / 19.4) ** 35) ** (1 / 35)
        - 13 * (1 + ((STMRo - 3) / 33) ** 13) ** (1 / 13)
        + 29
    )
    Q = 37 - 15 * math.log10(qdu)
    G = 1.07 + 0.258 * Q + 0.0602 * Q**2
    Y = (Ro - 100) / 15 + 46 / 8.4 - G / 9
    Z = 46 / 30 - G / 40
    Iq = 15 * math.log10(1 + 10**Y + 10**Z)
    Is = Iolr + Ist + Iq  # (7-7)
    Roe = -1.5 * (No - RLR)
    TERV = TELR - 40 * math.log10((1 + T / 10) / (1 + T / 150)) + 6 * math.exp(-0.3 * T**2)
    Re = 80 + 2.5 * (TERV - 14)
    Idte = 0.0 if T < 1 else ((Roe - Re) / 2 + math.sqrt((Roe - Re) ** 2 / 4 + 100) - 1) * (1 - math.exp(-T))
    Rle = 10.5 * (WEPL + 7) * (Tr + 1) ** (-0.25)
    Idle = (Ro - Rle) / 2 + math.sqrt((Ro - Rle) ** 2 / 4 + 169)
    X = math.log10(Ta / 100) / math.log10(2) if Ta > 100 else 0.0
    Idd = 0.0 if Ta <= 100 else 25 * ((1 + X**6) ** (1 / 6) - 3 * (1 + (X / 3) ** 6) ** (1 / 6) + 2)
    Ie_eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl)
    return float(Ro - Is - (Idte + Idle + Idd) - Ie_eff + A)


def g107_mos(R: float) -> float:
    if R < 0:
        return 1.0
    if R > 100:
        return 4.5
    return 1 + 0.035 * R + R * (R - 60) * (100 - R) * 7e-6


def test_defaults_give_93_2_and_4_41() -> None:
    rating = rate(EModelInput())
    assert round(rating.r, 1) == 93.2  # G.107 §7.7: the default values give R = 93.2
    assert round(rating.mos, 2) == 4.41
    assert rating.ro == pytest.approx(94.77, abs=0.005)
    assert rating.is_ == pytest.approx(1.41, abs=0.005)
    assert (rating.idte, rating.idd, rating.ie_eff) == (0.0, 0.0, 0.0)
    assert rating.idle == pytest.approx(0.15, abs=0.005)  # why R0 - Is (93.35) is not quite 93.2
    assert EModelInput().outside_planning_range() == ()


# (one-way ms, loss %, BurstR, Bpl) -> the oracle's R; the reply quotes these.
POINTS = [
    (0, 0, 1, BPL_G711_PLC),
    (50, 0, 1, BPL_G711_PLC),
    (100, 1, 1, BPL_G711_PLC),
    (150, 2, 1, BPL_G711_PLC),
    (200, 5, 2, BPL_G711_PLC),
    (300, 3, 1, BPL_G711_NO_PLC),
    (400, 0, 1, BPL_G711_PLC),
    (0, 5, 1, BPL_G711_PLC),
]


@pytest.mark.parametrize(("ms", "loss", "burst", "bpl"), POINTS)
def test_rating_matches_the_g107_oracle(ms: float, loss: float, burst: float, bpl: float) -> None:
    rating = rate(EModelInput(t=ms, tr=2 * ms, ta=ms, ppl=loss, burst_r=burst, bpl=bpl))
    expected = g107_r(ms, 2 * ms, ms, loss, burst, bpl)
    assert rating.r == pytest.approx(expected, abs=1e-9)
    assert rating.mos == pytest.approx(g107_mos(expected), abs=1e-9)


def test_hand_checked_impairments() -> None:
    # Ie,eff = 95 * Ppl / (Ppl/BurstR + Bpl) for G.711 (Ie = 0):
    assert rate(EModelInput(ppl=1, bpl=25.1)).ie_eff == pytest.approx(95 / 26.1)  # 3.64
    assert rate(EModelInput(ppl=5, burst_r=2, bpl=25.1)).ie_eff == pytest.approx(475 / 27.6)  # 17.21
    assert rate(EModelInput(ppl=3, bpl=4.3)).ie_eff == pytest.approx(285 / 7.3)  # 39.04: no PLC
    # Idd at Ta = 400 ms: X = log2(4) = 2 -> 25 * (65**(1/6) - 3 * (1 + (2/3)**6)**(1/6) + 2)
    idd = 25 * (65 ** (1 / 6) - 3 * (1 + (2 / 3) ** 6) ** (1 / 6) + 2)
    assert rate(EModelInput(ta=400)).idd == pytest.approx(idd)
    assert idd == pytest.approx(24.07, abs=0.01)
    assert rate(EModelInput(ta=100)).idd == 0.0  # no absolute-delay impairment up to 100 ms


def test_voip_inputs_from_measurements() -> None:
    params = EModelInput.voip(one_way_delay=0.150, packet_loss=0.02, burst_ratio=1.3)
    assert (params.t, params.ta, params.tr) == pytest.approx((150, 150, 300))
    assert (params.ppl, params.burst_r, params.bpl) == pytest.approx((2, 1.3, BPL_G711_PLC))
    assert EModelInput.voip(one_way_delay=0, packet_loss=0, plc=False).bpl == BPL_G711_NO_PLC
    assert EModelInput.voip(one_way_delay=0.6, packet_loss=0.3).outside_planning_range() == ("t", "tr", "ta", "ppl")


def test_mos_from_r_annex_b() -> None:
    assert mos_from_r(-5) == 1.0
    assert mos_from_r(0) == 1.0
    assert mos_from_r(50) == pytest.approx(1 + 1.75 + 50 * -10 * 50 * 7e-6)  # 2.575
    assert mos_from_r(93.2) == pytest.approx(4.409, abs=5e-4)
    assert mos_from_r(100) == 4.5
    assert mos_from_r(120) == 4.5
    assert mos_from_r(3) == 1.0  # the cubic dips below 1 here: clamped to the scale


def test_one_way_delay_estimate() -> None:
    # RTT/2 + jitter buffer + packetisation
    assert one_way_delay(0.080, 0.040) == pytest.approx(0.040 + 0.040 + 0.020)
    with pytest.raises(ValueError):
        one_way_delay(-0.001, 0.0)


@pytest.mark.parametrize(
    "kwargs",
    [{"t": -1.0}, {"ppl": 101.0}, {"qdu": 0.5}, {"bpl": 0.0}, {"burst_r": 0.0}, {"stmr": 8.0}, {"ie": 96.0}, {"nc": float("nan")}],
)
def test_invalid_inputs_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        EModelInput(**kwargs)


@given(st.floats(0, 0.6), st.floats(0, 0.5), st.floats(0, 0.5), st.floats(1, 8))
def test_more_delay_or_loss_never_rates_higher(delay: float, loss: float, more: float, burst: float) -> None:
    base = rate(EModelInput.voip(one_way_delay=delay, packet_loss=loss, burst_ratio=burst))
    worse_loss = rate(EModelInput.voip(one_way_delay=delay, packet_loss=min(1.0, loss + more), burst_ratio=burst))
    worse_delay = rate(EModelInput.voip(one_way_delay=delay + more, packet_loss=loss, burst_ratio=burst))
    assert worse_loss.r <= base.r + 1e-9
    # Not strictly monotonic in delay: for a few ms, G.107's talker-echo term
    # Idte = [(Ro-Re)/2 + sqrt((Ro-Re)^2/4 + 100) - 1](1 - e^-T) is slightly
    # negative (about -0.09 at T = 2 ms with the defaults), so R may rise by
    # less than 0.1. Beyond that, more delay never rates higher.
    assert worse_delay.r <= base.r + 0.1
    assert 1.0 <= base.mos <= 4.5


def test_talker_echo_dip_at_tiny_delays_is_g107_not_a_bug() -> None:
    at_zero = rate(EModelInput.voip(one_way_delay=0.0, packet_loss=0.0))
    at_2ms = rate(EModelInput.voip(one_way_delay=0.002, packet_loss=0.0))
    assert at_zero.idte == 0.0
    assert -0.1 < at_2ms.idte < 0.0
    assert at_2ms.r - at_zero.r < 0.1


@given(st.floats(0, 0.8), st.floats(0, 1), st.floats(0.5, 8), st.booleans())
def test_matches_oracle_everywhere(delay: float, loss: float, burst: float, plc: bool) -> None:
    params = EModelInput.voip(one_way_delay=delay, packet_loss=loss, burst_ratio=burst, plc=plc)
    expected = g107_r(params.t, params.tr, params.ta, params.ppl, params.burst_r, params.bpl)
    assert rate(params).r == pytest.approx(expected, abs=1e-9)
