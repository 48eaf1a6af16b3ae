"""A call's media report turned into its measurements: per direction, and the rating.

Kept apart from the probe's control flow: this is arithmetic on what the
media session reported (probes/rtp/session.py), with the E-model sources
chosen as probes/quality/rating.py explains.
"""

from __future__ import annotations

from dataclasses import replace

from ..measurements import AudioMeasured, CallMeasured
from ..quality.audio import AudioFigures
from ..quality.rating import DirectionInput, DirectionRating, burst_ratio_from_xr, rate_direction
from ..rtp.session import MediaReport

__all__ = ["audio_measured", "media_figures", "tx_input"]


def audio_measured(direction: str, a: AudioFigures) -> AudioMeasured:
    return AudioMeasured(
        direction=direction, frames=a.positions, audible=a.audible, silent=a.silent,
        missing=a.missing, gaps=a.gaps, longest_gap_seconds=a.longest_gap_seconds,
        gap_seconds=a.gap_seconds, clipped=a.clipped,
        own_signal_ratio=a.ours / a.audible if a.audible else 0.0, signal=a.signal.value)


def tx_input(r: MediaReport, nominal_buffer: float) -> DirectionInput | None:
    """What the far end received of ours, from the best source it gave (rating.py)."""
    peer = r.peer
    xr = peer.voip_metrics
    if peer.audio is not None and peer.audio.figures.positions:
        a = peer.audio.figures
        buffer = nominal_buffer if xr is None else xr.jb_nominal / 1000
        return DirectionInput(a.loss_ratio, a.burst_ratio, buffer, "answer_point")
    if xr is not None:
        loss = min(1.0, (xr.loss_rate + xr.discard_rate) / 256)
        return DirectionInput(loss, burst_ratio_from_xr(xr), xr.jb_nominal / 1000, "xr")
    block = peer.last_block
    if block is not None and r.tx_packets:
        loss = min(1.0, max(0, block.cumulative_lost) / r.tx_packets)
        jitter = block.jitter / 8000
        return DirectionInput(loss, 1.0, max(nominal_buffer, 2 * jitter), "rr")
    return None


def media_figures(r: MediaReport, answered_at: float, m: CallMeasured, plc: bool,
                  nominal_buffer: float) -> CallMeasured:
    """Fill the media fields of `m` from the report (see the module docstring)."""
    rtt = r.rtt
    xr = r.peer.voip_metrics
    if rtt is None and xr is not None and xr.round_trip_delay:
        rtt = xr.round_trip_delay / 1000  # the far end measured it
    m = replace(m, tx_packets=r.tx_packets, rtt_seconds=rtt,
                rtt_samples=len(r.peer.rtt_samples) or None,
                answer_to_media_seconds=None if r.first_rx_at is None
                else max(0.0, r.first_rx_at - answered_at),
                pacing_error_p50_seconds=r.pacing_p50, pacing_error_p99_seconds=r.pacing_p99)
    if r.digits_sent:
        m = replace(m, dtmf_sent=r.digits_sent, dtmf_received=r.rx.digits if r.rx else "",
                    dtmf_far_end=None if r.peer.audio is None else r.peer.audio.digits)
    ratings: list[DirectionRating] = []
    rx = r.rx
    if rx is not None and rx.stats.valid:
        a = rx.audio
        d = DirectionInput(a.loss_ratio, a.burst_ratio, rx.buffer.mean_delay, "measured")
        rated = rate_direction(d, rtt, plc)
        ratings.append(rated)
        m = replace(m, rx_packets=rx.stats.received, rx_lost=rx.stats.lost,
                    rx_loss_ratio=rx.stats.loss_fraction, rx_discarded=rx.buffer.discarded,
                    rx_effective_loss_ratio=a.loss_ratio,
                    rx_jitter_seconds=rx.stats.jitter_seconds,
                    rx_jitter_buffer_seconds=rx.buffer.mean_delay, rx_burst_ratio=a.burst_ratio,
                    audio_rx=audio_measured("rx", a),
                    mos_rx=None if rated.estimated else rated.rating.mos)
    else:
        m = replace(m, rx_packets=0 if rx is None else rx.stats.received,
                    audio_rx=None if rx is None else audio_measured("rx", rx.audio))
    tx = tx_input(r, nominal_buffer)
    if tx is not None:
        rated = rate_direction(tx, rtt, plc)
        ratings.append(rated)
        block = r.peer.last_block
        m = replace(m, tx_loss_ratio=tx.loss_ratio, tx_burst_ratio=tx.burst_ratio,
                    tx_jitter_seconds=None if block is None else block.jitter / 8000,
                    tx_quality_source=tx.source,
                    mos_tx=None if rated.estimated else rated.rating.mos)
    if r.peer.audio is not None:
        m = replace(m, audio_tx=audio_measured("tx", r.peer.audio.figures))
    if ratings:
        worst = min(ratings, key=lambda x: x.rating.r)  # the caller hears the worse direction
        if worst.estimated:
            m = replace(m, mos_estimated=worst.rating.mos)
        else:
            m = replace(m, mos=worst.rating.mos, r_factor=worst.rating.r)
    return m
