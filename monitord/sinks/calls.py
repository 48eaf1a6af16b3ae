"""Call KPIs of `sip_call` checks as Prometheus series (voizXL §3.2, XTIUM §1).

The contracts are written as averages and ratios over calls: "average call
set-up time 2 s" is `rate(monitord_call_setup_seconds_sum) /
rate(monitord_call_setup_seconds_count)`, "call success ratio 99 %" is
successes over attempts, and "MOS below 3.5" is read from the per-call MOS.
So set-up time is a histogram (averages and quantiles over any window) and
attempts/successes are counters, while the media figures of the latest call
are gauges. Failures are counted per reason so a dashboard can tell "busy"
from "dropped".

Kept out of metrics.py (the daemon's core series) as its own sink, like the
SNMP one, registered on the daemon's registry.
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from monitord.config.load import EffectiveCheck
from monitord.core.stream import Committed, Reconfigured
from probes.measurements import CallMeasured

__all__ = ["SETUP_BUCKETS", "CallSink"]

# Around the 2 s KPI: fine below it, coarse above (answer_timeout bounds the top).
SETUP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0)

class CallSink:
    """Pipeline sink for `sip_call` checks: KPI histogram, counters and media gauges."""

    def __init__(self, registry: CollectorRegistry, checks: Sequence[EffectiveCheck]) -> None:
        self._checks = {c.name for c in checks if c.type == "sip_call"}
        r = registry
        self.setup = Histogram(
            "monitord_call_setup_seconds",
            "Call set-up time: first INVITE to 200 OK, authentication rounds included.",
            ["check"], buckets=SETUP_BUCKETS, registry=r,
        )
        self.attempts = Counter(
            "monitord_call_attempts", "Synthetic calls placed.", ["check"], registry=r
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
        self.mos = Gauge(
            "monitord_call_mos", "ITU-T G.107 MOS of the last call (the worse direction).",
            ["check"], registry=r,
        )
        self.loss = Gauge(
            "monitord_call_loss_ratio", "RTP loss 0..1 of the last call, per direction.",
            ["check", "direction"], registry=r,
        )
        self.jitter = Gauge(
            "monitord_call_jitter_seconds",
            "RTP interarrival jitter (RFC 3550 A.8) of the last call, per direction.",
            ["check", "direction"], registry=r,
        )
        self.rtt = Gauge(
            "monitord_call_rtt_seconds", "Media round-trip time of the last call.", ["check"],
            registry=r,
        )
        self.post_dial = Gauge(
            "monitord_call_post_dial_delay_seconds",
            "First INVITE to first 18x of the last call.", ["check"], registry=r,
        )
        for name in sorted(self._checks):  # zeros from the start, not absent series
            self.attempts.labels(name)
            self.successes.labels(name)

    def consume(self, c: Committed) -> None:
        for ev in c.events:
            if isinstance(ev, Reconfigured):
                self._checks = {ch.name for ch in ev.checks if ch.type == "sip_call"}
                for name in self._checks:
                    self.attempts.labels(name)
                    self.successes.labels(name)
        o = c.probe
        if o is None:
            return
        name = o.check.name
        if name not in self._checks:
            return
        result, m = o.result, o.result.measured
        self.attempts.labels(name).inc()
        if result.ok:
            self.successes.labels(name).inc()
        elif result.reason is not None:
            self.failures.labels(name, result.reason.value).inc()
        if not isinstance(m, CallMeasured):
            return
        if m.setup_seconds is not None:
            self.setup.labels(name).observe(m.setup_seconds)
        if m.mos is not None:
            self.mos.labels(name).set(m.mos)
        if m.rtt_seconds is not None:
            self.rtt.labels(name).set(m.rtt_seconds)
        if m.post_dial_delay_seconds is not None:
            self.post_dial.labels(name).set(m.post_dial_delay_seconds)
        for direction, loss, jitter in (("rx", m.rx_loss_ratio, m.rx_jitter_seconds),
                                        ("tx", m.tx_loss_ratio, m.tx_jitter_seconds)):
            if loss is not None:
                self.loss.labels(name, direction).set(loss)
            if jitter is not None:
                self.jitter.labels(name, direction).set(jitter)
