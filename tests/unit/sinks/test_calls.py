"""Call KPIs as Prometheus series, fed outcomes by hand."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from monitord.config import effective_checks, parse_config
from monitord.core.events import CheckSnapshot
from monitord.core.stream import Committed
from monitord.sinks.calls import CallSink
from probes.base import FailureReason, ProbeResult
from probes.measurements import AudioMeasured, CallMeasured
from tests.unit.stream import committed

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _outcome(check: object, result: ProbeResult) -> Committed:
    snap = CheckSnapshot.initial("x")
    return committed(check, result, T0, before=snap, after=snap, duration=6.0)  # type: ignore[arg-type]


def test_every_call_counts_in_histograms_and_counters(tmp_path: Path) -> None:
    cfg = parse_config(
        """\
checks:
  - {name: call-echo, type: sip_call, target: "sip:echo@127.0.0.1:5060"}
  - {name: ping, type: sip_options, target: "sip:127.0.0.1"}
""",
        env={},
    )
    call, ping = effective_checks(cfg)
    assert (call.interval, call.timeout) == (60.0, 10 + 5 + 3)  # the call's own defaults
    registry = CollectorRegistry()
    sink = CallSink(registry, [call, ping])
    text = generate_latest(registry).decode()
    # before the first call: every series at zero, every failure reason included
    assert 'monitord_call_failures_total{check="call-echo",reason="dropped"} 0.0' in text
    assert 'monitord_call_loss_ratio_count{check="call-echo",direction="tx"} 0.0' in text
    assert 'monitord_call_mos_count{check="call-echo"} 0.0' in text
    good = CallMeasured(setup_seconds=0.4, post_dial_delay_seconds=0.1, mos=4.38,
                        rx_loss_ratio=0.0, rx_jitter_seconds=0.0005, rtt_seconds=0.0002)
    poor = dataclasses.replace(good, setup_seconds=2.6, mos=3.1, rx_loss_ratio=0.08)
    sink.consume(_outcome(call, ProbeResult.success(0.4, "", good)))
    sink.consume(_outcome(call, ProbeResult.success(2.6, "", poor)))  # between two scrapes
    sink.consume(_outcome(call, ProbeResult.failure(FailureReason.BUSY, "SIP 486 Busy Here")))
    sink.consume(_outcome(call, ProbeResult.failure(FailureReason.DROPPED, "BYE after 1 s",
                                                    2.0, CallMeasured(setup_seconds=2.0))))
    sink.consume(_outcome(ping, ProbeResult.success(0.01)))
    text = generate_latest(registry).decode()
    assert 'monitord_call_attempts_total{check="call-echo"} 4.0' in text
    assert 'monitord_call_answered_total{check="call-echo"} 3.0' in text
    assert 'monitord_call_successes_total{check="call-echo"} 2.0' in text
    assert 'monitord_call_failures_total{check="call-echo",reason="busy"} 1.0' in text
    assert 'monitord_call_failures_total{check="call-echo",reason="dropped"} 1.0' in text
    assert 'monitord_call_setup_seconds_bucket{check="call-echo",le="0.5"} 1.0' in text
    assert 'monitord_call_setup_seconds_bucket{check="call-echo",le="2.0"} 2.0' in text
    assert 'monitord_call_setup_seconds_sum{check="call-echo"} 5.0' in text
    # both calls' MOS are kept: one at or below 3.5 (poor audio), one above
    assert 'monitord_call_mos_bucket{check="call-echo",le="3.5"} 1.0' in text
    assert 'monitord_call_mos_count{check="call-echo"} 2.0' in text
    assert 'monitord_call_loss_ratio_bucket{check="call-echo",direction="rx",le="0.0"} 1.0' in text
    assert 'monitord_call_loss_ratio_bucket{check="call-echo",direction="rx",le="0.1"} 2.0' in text
    assert 'monitord_call_post_dial_delay_seconds_count{check="call-echo"} 2.0' in text
    assert 'monitord_call_rtt_seconds_count{check="call-echo"} 2.0' in text
    assert 'check="ping"' not in text


def test_audio_gaps_discards_and_estimated_mos_are_counted() -> None:
    cfg = parse_config(
        'checks:\n  - {name: c, type: sip_call, target: "sip:echo@127.0.0.1:5060"}\n', env={})
    (call,) = effective_checks(cfg)
    registry = CollectorRegistry()
    sink = CallSink(registry, [call])
    rx = AudioMeasured(direction="rx", frames=250, audible=230, silent=0, missing=20, gaps=2,
                       longest_gap_seconds=0.3, gap_seconds=0.4, clipped=0,
                       own_signal_ratio=0.0, signal="answer")
    m = CallMeasured(setup_seconds=0.1, audio_rx=rx, rx_discarded=7, mos_estimated=4.4)
    sink.consume(_outcome(call, ProbeResult.failure(FailureReason.AUDIO_GAPS, "gaps",
                                                    measured=m)))
    text = generate_latest(registry).decode()
    assert 'monitord_call_audio_gaps_total{check="c",direction="rx"} 2.0' in text
    assert 'monitord_call_audio_gap_seconds_total{check="c",direction="rx"} 0.4' in text
    assert 'monitord_call_rtp_discarded_packets_total{check="c"} 7.0' in text
    assert 'monitord_call_mos_estimated_calls_total{check="c"} 1.0' in text
    assert 'monitord_call_failures_total{check="c",reason="audio_gaps"} 1.0' in text
    assert 'monitord_call_mos_count{check="c"} 0.0' in text  # an estimate is not the call's MOS
