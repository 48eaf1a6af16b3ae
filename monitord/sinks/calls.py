"""Call KPIs of `sip_call` checks as Prometheus histograms and counters (voizXL §3.2, XTIUM §1).

The contracts are written as averages and ratios over calls, so every call
counts, also the ones between two scrapes: nothing here is a last-call gauge.
- "average call set-up time 2 s" is `rate(monitord_call_setup_seconds_sum)
  / rate(monitord_call_setup_seconds_count)` (first INVITE to 200 OK);
- post-dial delay (first INVITE to the first 18x) likewise;
- "call success ratio 99 %" is `monitord_call_successes_total` over
  `monitord_call_attempts_total`; the answer-seizure ratio (ITU-T E.411) is
  `monitord_call_answered_total` over the attempts;
- MOS, RTP loss and jitter (per direction) and the media round trip are
  distributions: "MOS below 3.5 in more than 10 % of calls" reads the
  `le="3.5"` bucket over `_count`.
Failures are counted per reason (every reason exported from the start as 0)
so a dashboard can tell "busy" from "dropped".

Kept out of metrics.py (the daemon's core series) as its own sink, like the
SNMP one, registered on the daemon's registry.
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram

from monitord.config.load import EffectiveCheck
from monitord.core.stream import Committed, Reconfigured
from probes.base import FailureReason
from probes.measurements import CallMeasured

__all__ = ["LOSS_BUCKETS", "MOS_BUCKETS", "SETUP_BUCKETS", "CallSink"]

# Around the 2 s KPI: fine below it, coarse above (answer_timeout bounds the top).
SETUP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0)
# 3.5 is XTIUM's "poor audio" line; G.711 without impairment reaches ~4.4.
MOS_BUCKETS = (1.0, 2.0, 2.5, 3.0, 3.5, 3.8, 4.0, 4.2, 4.4, 4.5)
LOSS_BUCKETS = (0.0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
JITTER_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25)
RTT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0)
DIRECTIONS = ("rx", "tx")


class CallSink:
    """Pipeline sink for `sip_call` checks: KPI histograms and counters."""

    def __init__(self, registry: CollectorRegistry, checks: Sequence[EffectiveCheck]) -> None:
        self._checks = {c.name for c in checks if c.type == "sip_call"}
        r = registry
        self.setup = Histogram(
            "monitord_call_setup_seconds",
            "Call set-up time: first INVITE to 200 OK, authentication rounds included.",
            ["check"], buckets=SETUP_BUCKETS, registry=r,
        )
        self.post_dial = Histogram(
            "monitord_call_post_dial_delay_seconds",
            "Post-dial delay: first INVITE to the first 18x.",
            ["check"], buckets=SETUP_BUCKETS, registry=r,
        )
        self.attempts = Counter(
            "monitord_call_attempts", "Synthetic calls placed.", ["check"], registry=r
        )
        self.answered = Counter(
            "monitord_call_answered",
            "Synthetic calls answered with 200 OK (the answer-seizure ratio's numerator).",
            ["check"], registry=r,
        )
        self.successes = Counter(
            "monitord_call_successes",
            "Synthetic calls answered with media both ways for the whole duration.",
            ["check"], registry=r,
        )
        self.failures = Counter(
            "monitord_call_failures", "Failed synthetic calls by reason.", ["check", "reason"],
            registry=r,
        )
        self.mos = Histogram(
            "monitord_call_mos", "ITU-T G.107 MOS per call (the worse direction).",
            ["check"], buckets=MOS_BUCKETS, registry=r,
        )
        self.loss = Histogram(
            "monitord_call_loss_ratio", "RTP loss 0..1 per call and direction.",
            ["check", "direction"], buckets=LOSS_BUCKETS, registry=r,
        )
        self.jitter = Histogram(
            "monitord_call_jitter_seconds",
            "RTP interarrival jitter (RFC 3550 A.8) per call and direction.",
            ["check", "direction"], buckets=JITTER_BUCKETS, registry=r,
        )
        self.rtt = Histogram(
            "monitord_call_rtt_seconds", "Media round-trip time per call (RTCP LSR/DLSR).",
            ["check"], buckets=RTT_BUCKETS, registry=r,
        )
        # Audio-path figures (issue 15): what the test signal looked like per direction,
        # late packets the jitter buffer model dropped, and calls whose MOS stayed an
        # estimate because no round trip was measured (not in monitord_call_mos).
        self.audio_gaps = Counter(
            "monitord_call_audio_gaps", "Gaps in the test signal, per direction.",
            ["check", "direction"], registry=r,
        )
        self.audio_gap_seconds = Counter(
            "monitord_call_audio_gap_seconds", "Seconds of gaps in the test signal.",
            ["check", "direction"], registry=r,
        )
        self.discarded = Counter(
            "monitord_call_rtp_discarded_packets",
            "Received RTP packets too late for the jitter buffer model (counted as loss).",
            ["check"], registry=r,
        )
        self.mos_estimated = Counter(
            "monitord_call_mos_estimated_calls",
            "Calls rated without a measured round trip: MOS only estimated, not published.",
            ["check"], registry=r,
        )
        for name in sorted(self._checks):
            self._declare(name)

    def _declare(self, name: str) -> None:
        """Zeros from the start, not absent series (a histogram's buckets included)."""
        for metric in (self.setup, self.post_dial, self.attempts, self.answered,
                       self.successes, self.mos, self.rtt):
            metric.labels(name)
        for direction in DIRECTIONS:
            self.loss.labels(name, direction)
            self.jitter.labels(name, direction)
            self.audio_gaps.labels(name, direction)
            self.audio_gap_seconds.labels(name, direction)
        self.discarded.labels(name)
        self.mos_estimated.labels(name)
        for reason in FailureReason:
            self.failures.labels(name, reason.value)

    @staticmethod
    def follows(check: EffectiveCheck) -> bool:
        """Only `sip_call` probes are read here (`probe_sinks`)."""
        return check.type == "sip_call"

    def consume(self, c: Committed) -> None:
        for ev in c.events:
            if isinstance(ev, Reconfigured):
                self._checks = {ch.name for ch in ev.checks if ch.type == "sip_call"}
                for name in sorted(self._checks):
                    self._declare(name)
        o = c.probe
        if o is None:
            return
        name = o.check.name
        if name not in self._checks:
            return
        result, m = o.result, o.result.measured
        if result.inconclusive:
            return  # not judged (our own lateness): no call to count
        self.attempts.labels(name).inc()
        if result.ok:
            self.successes.labels(name).inc()
        elif result.reason is not None:
            self.failures.labels(name, result.reason.value).inc()
        if not isinstance(m, CallMeasured):
            return
        if m.setup_seconds is not None:  # a 200 OK came: the call was answered
            self.answered.labels(name).inc()
            self.setup.labels(name).observe(m.setup_seconds)
        for value, histogram in ((m.post_dial_delay_seconds, self.post_dial), (m.mos, self.mos),
                                 (m.rtt_seconds, self.rtt)):
            if value is not None:
                histogram.labels(name).observe(value)
        for audio in (m.audio_rx, m.audio_tx):
            if audio is not None:
                self.audio_gaps.labels(name, audio.direction).inc(audio.gaps)
                self.audio_gap_seconds.labels(name, audio.direction).inc(audio.gap_seconds)
        if m.rx_discarded:
            self.discarded.labels(name).inc(m.rx_discarded)
        if m.mos_estimated is not None:
            self.mos_estimated.labels(name).inc()
        for direction, loss, jitter in (("rx", m.rx_loss_ratio, m.rx_jitter_seconds),
                                        ("tx", m.tx_loss_ratio, m.tx_jitter_seconds)):
            if loss is not None:
                self.loss.labels(name, direction).observe(loss)
            if jitter is not None:
                self.jitter.labels(name, direction).observe(jitter)
