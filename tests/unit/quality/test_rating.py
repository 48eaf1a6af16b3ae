"""Rating a direction: G.107 on what was measured, and an honest label when RTT is unknown."""

from __future__ import annotations

import pytest

from probes.quality.emodel import EModelInput, rate
from probes.quality.rating import DirectionInput, burst_ratio_from_xr, rate_direction
from tests.unit.rtp.voipmetrics import voip_metrics


def test_delay_is_half_the_rtt_plus_the_buffer_plus_a_frame() -> None:
    d = DirectionInput(0.05, 1.0, 0.030, "measured")
    expected = rate(EModelInput.voip(one_way_delay=0.050 + 0.030 + 0.020, packet_loss=0.05))
    rated = rate_direction(d, rtt=0.100)
    assert rated.rating.r == pytest.approx(expected.r) and not rated.estimated
    assert rated.one_way_delay == pytest.approx(0.100)


def test_without_rtt_the_rating_is_marked_estimated_and_can_only_flatter() -> None:
    d = DirectionInput(0.0, 1.0, 0.040, "measured")
    unknown = rate_direction(d, rtt=None)
    assert unknown.estimated
    assert unknown.rating.mos >= rate_direction(d, rtt=0.300).rating.mos


def test_burstiness_lowers_the_rating() -> None:
    random_loss = rate_direction(DirectionInput(0.05, 1.0, 0.04, "m"), 0.02).rating
    bursty = rate_direction(DirectionInput(0.05, 4.0, 0.04, "m"), 0.02).rating
    assert bursty.mos < random_loss.mos


def test_xr_burst_and_gap_densities_give_burst_r() -> None:
    # No loss: random. Loss only in gaps (isolated): random.
    assert burst_ratio_from_xr(voip_metrics()) == 1.0
    assert burst_ratio_from_xr(voip_metrics(gap_density=13, gap_duration=5000)) == 1.0
    # A 200 ms burst (10 packets) where every packet is lost, once per 5 s: one run of
    # 10 per 260 packets, so BurstR = 10 * (1 - 10/260).
    m = voip_metrics(burst_density=255, burst_duration=200, gap_duration=5000)
    assert burst_ratio_from_xr(m) == pytest.approx(10 * 255 / 256 * (1 - 10 * 255 / 256 / 260),
                                                   rel=0.01)
