"""What each kind of probe measured: one typed record per probe kind.

Why typed: the same figures are produced by a probe and read by several
sinks (metrics, call KPIs, latency budgets, SNMP gauges). Shared as bare
string keys, a renamed key silently empties a dashboard; as fields, mypy
finds every reader. Sinks therefore read fields (`CallMeasured.rtt_seconds`)
and dispatch on the record's type, never on a check-type string.

Each record also knows its flat export form (`exported()`): the
``{"sip_status": 200.0, ...}`` mapping the JSON API shows under
`last_result.measurements`. Those key names are an external contract and
are spelled here, once. Values are in base units (seconds, ratios 0..1);
absent figures are left out of the export rather than sent as null.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = [
    "AudioMeasured",
    "CallMeasured",
    "Measured",
    "OptionsMeasured",
    "RegisterMeasured",
    "SipExchange",
    "SipMeasured",
    "SipRoute",
    "SnmpCpuMeasured",
    "SnmpDiskMeasured",
    "SnmpOidMeasured",
    "SnmpUptimeMeasured",
]

Figure = float | int | bool | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Measured:
    """Base of the per-kind records."""

    def exported(self) -> Mapping[str, float]:
        """The flat form the API emits: export key -> value, absent figures left out."""
        return MappingProxyType({k: float(v) for k, v in self._figures() if v is not None})

    def _figures(self) -> Iterator[tuple[str, Figure]]:
        return iter(())


# -- SIP ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SipRoute:
    """How RFC 3263 resolution and failover went (only for targets located by DNS)."""

    dns_targets: int
    failover_attempts: int
    dns_seconds: float | None = None
    target_index: int | None = None  # which resolved address answered (0 = preferred)
    target_port: int | None = None

    def figures(self) -> Iterator[tuple[str, Figure]]:
        yield "sip_dns_targets", self.dns_targets
        yield "sip_failover_attempts", self.failover_attempts
        yield "sip_dns_seconds", self.dns_seconds
        yield "sip_target_index", self.target_index
        yield "sip_target_port", self.target_port


@dataclass(frozen=True, slots=True, kw_only=True)
class SipMeasured(Measured):
    """Anything that ends in a SIP final response: its status code, if one came."""

    status: int | None = None

    def _figures(self) -> Iterator[tuple[str, Figure]]:
        yield "sip_status", self.status


@dataclass(frozen=True, slots=True, kw_only=True)
class SipExchange(SipMeasured):
    """A probe made of non-INVITE transactions (OPTIONS, REGISTER)."""

    transmissions: int = 0  # requests put on the wire, retransmissions included
    tls_cert_expiry_days: float | None = None  # days left on the TLS peer's certificate
    route: SipRoute | None = None

    def _figures(self) -> Iterator[tuple[str, Figure]]:
        yield from SipMeasured._figures(self)
        yield "sip_transmissions", self.transmissions
        yield "tls_cert_expiry_days", self.tls_cert_expiry_days
        if self.route is not None:
            yield from self.route.figures()


@dataclass(frozen=True, slots=True, kw_only=True)
class OptionsMeasured(SipExchange):
    """`sip_options`: one OPTIONS transaction."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterMeasured(SipExchange):
    """`sip_register`: the registration, its challenge rounds and the de-registration."""

    auth_rounds: int = 0
    register_expires: int | None = None  # what the registrar granted our binding
    deregistered: bool | None = None  # None: not attempted

    def _figures(self) -> Iterator[tuple[str, Figure]]:
        yield from SipExchange._figures(self)
        yield "sip_auth_rounds", self.auth_rounds
        yield "sip_register_expires", self.register_expires
        yield "sip_deregistered", self.deregistered


@dataclass(frozen=True, slots=True, kw_only=True)
class AudioMeasured:
    """What one direction's test signal looked like at its receiver (probes/quality/audio.py).

    `direction` is "rx" (what we received) or "tx" (what our answer point
    reported receiving from us). `signal` names whose signal most audible
    frames carried: "caller" (ours), "answer" (the answer point's), "other",
    "silence" or "none".
    """

    direction: str
    frames: int  # 20 ms positions from the first to the last received
    audible: int
    silent: int
    missing: int  # lost or discarded by the jitter buffer
    gaps: int
    longest_gap_seconds: float
    gap_seconds: float
    clipped: int
    own_signal_ratio: float  # share of audible frames that were the receiver's own signal
    signal: str

    def figures(self) -> Iterator[tuple[str, Figure]]:
        d = self.direction
        yield f"audio_{d}_frames", self.frames
        yield f"audio_{d}_audible_frames", self.audible
        yield f"audio_{d}_silent_frames", self.silent
        yield f"audio_{d}_missing_frames", self.missing
        yield f"audio_{d}_gaps", self.gaps
        yield f"audio_{d}_longest_gap_seconds", self.longest_gap_seconds
        yield f"audio_{d}_gap_seconds", self.gap_seconds
        yield f"audio_{d}_clipped_frames", self.clipped
        yield f"audio_{d}_own_signal_ratio", self.own_signal_ratio


@dataclass(frozen=True, slots=True, kw_only=True)
class CallMeasured(SipMeasured):
    """`sip_call`: set-up times, and the media both ways (see probes/sip/callprobe.py).

    `rx_*` is what we received; `tx_*` is what the far end reported receiving
    from us (its RTCP, XR VoIP Metrics or our answer point's audio report).
    `mos` is the worse direction (what the caller hears), published only when
    the call had a measured round trip; without one the rating assumes zero
    network transit, which only flatters, and goes to `mos_estimated` instead.
    `outcome`, `direction` and `dropped_by` are the verdict (probes/sip/verdict.py).
    """

    outcome: str | None = None
    direction: str | None = None  # of a one-way call, media stopping, gaps: rx or tx
    dropped_by: str | None = None  # far_end (its BYE) or transport
    dropped_after_seconds: float | None = None  # answer -> drop, or -> media stopped
    post_dial_delay_seconds: float | None = None  # first INVITE -> first 18x
    setup_seconds: float | None = None  # first INVITE -> 200, auth rounds included
    auth_setup_seconds: float | None = None  # the authenticated INVITE -> 200
    answer_to_media_seconds: float | None = None  # 200 -> first RTP received
    rtt_seconds: float | None = None  # media round trip: mean of the call's RTCP samples
    rtt_samples: int | None = None
    tx_packets: int | None = None
    pacing_error_p50_seconds: float | None = None
    pacing_error_p99_seconds: float | None = None
    rx_packets: int | None = None
    rx_lost: int | None = None
    rx_loss_ratio: float | None = None  # network loss only (RFC 3550 A.3)
    rx_discarded: int | None = None  # late for the jitter buffer model
    rx_effective_loss_ratio: float | None = None  # never played: lost or discarded (G.107 Ppl)
    rx_jitter_seconds: float | None = None
    rx_jitter_buffer_seconds: float | None = None  # the model's mean depth
    rx_burst_ratio: float | None = None  # G.107 BurstR of the never-played positions
    tx_loss_ratio: float | None = None  # effective loss at the far end, as it reported
    tx_burst_ratio: float | None = None
    tx_jitter_seconds: float | None = None
    tx_quality_source: str | None = None  # answer_point, xr or rr
    mos_rx: float | None = None
    mos_tx: float | None = None
    mos: float | None = None
    r_factor: float | None = None
    mos_estimated: float | None = None  # no RTT: rated with zero transit (an upper bound)
    audio_rx: AudioMeasured | None = None
    audio_tx: AudioMeasured | None = None
    dtmf_sent: str | None = None
    dtmf_received: str | None = None  # digits that came back (answer point or echo)
    dtmf_far_end: str | None = None  # digits our answer point reports receiving
    route: SipRoute | None = None  # RFC 3263 resolution and failover (targets named by DNS)

    def _figures(self) -> Iterator[tuple[str, Figure]]:
        yield from SipMeasured._figures(self)
        yield "call_post_dial_delay_seconds", self.post_dial_delay_seconds
        yield "call_setup_seconds", self.setup_seconds
        yield "call_auth_setup_seconds", self.auth_setup_seconds
        yield "call_answer_to_media_seconds", self.answer_to_media_seconds
        yield "call_dropped_after_seconds", self.dropped_after_seconds
        yield "rtt_seconds", self.rtt_seconds
        yield "rtt_samples", self.rtt_samples
        yield "rtp_tx_packets", self.tx_packets
        yield "rtp_pacing_error_p50_seconds", self.pacing_error_p50_seconds
        yield "rtp_pacing_error_p99_seconds", self.pacing_error_p99_seconds
        yield "rtp_rx_packets", self.rx_packets
        yield "rtp_rx_lost", self.rx_lost
        yield "rtp_rx_loss_ratio", self.rx_loss_ratio
        yield "rtp_rx_discarded", self.rx_discarded
        yield "rtp_rx_effective_loss_ratio", self.rx_effective_loss_ratio
        yield "rtp_rx_jitter_seconds", self.rx_jitter_seconds
        yield "rtp_rx_jitter_buffer_seconds", self.rx_jitter_buffer_seconds
        yield "rtp_rx_burst_ratio", self.rx_burst_ratio
        yield "rtp_tx_loss_ratio", self.tx_loss_ratio
        yield "rtp_tx_burst_ratio", self.tx_burst_ratio
        yield "rtp_tx_jitter_seconds", self.tx_jitter_seconds
        yield "mos_rx", self.mos_rx
        yield "mos_tx", self.mos_tx
        yield "mos", self.mos
        yield "r_factor", self.r_factor
        yield "mos_estimated", self.mos_estimated
        for audio in (self.audio_rx, self.audio_tx):
            if audio is not None:
                yield from audio.figures()
        if self.dtmf_sent:
            yield "dtmf_sent_digits", len(self.dtmf_sent)
            yield "dtmf_received_digits", len(self.dtmf_received or "")
            yield "dtmf_round_trip", self.dtmf_received == self.dtmf_sent
        if self.route is not None:
            yield from self.route.figures()


# -- SNMP ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SnmpUptimeMeasured(Measured):
    """`snmp_up`: the agent's uptime; a decrease between polls is a reboot (sinks see it)."""

    uptime_seconds: float

    def _figures(self) -> Iterator[tuple[str, Figure]]:
        yield "snmp_uptime_seconds", self.uptime_seconds


@dataclass(frozen=True, slots=True, kw_only=True)
class SnmpCpuMeasured(Measured):
    """`snmp_cpu`: a load ratio 0..1 (hrProcessorLoad, ssCpuIdle) or a load average."""

    load_ratio: float | None = None
    cpu_count: int | None = None  # hrProcessorLoad rows averaged
    load_average: float | None = None  # UCD laLoad, not a ratio

    def _figures(self) -> Iterator[tuple[str, Figure]]:
        yield "snmp_cpu_load_ratio", self.load_ratio
        yield "snmp_cpu_count", self.cpu_count
        yield "snmp_load_average", self.load_average


@dataclass(frozen=True, slots=True, kw_only=True)
class SnmpDiskMeasured(Measured):
    """`snmp_disk`: used share 0..1 of each selected hrStorage row, by its description."""

    used_ratio: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    def _figures(self) -> Iterator[tuple[str, Figure]]:
        for storage, ratio in self.used_ratio.items():
            yield f"snmp_disk_used_ratio:{storage}", ratio


@dataclass(frozen=True, slots=True, kw_only=True)
class SnmpOidMeasured(Measured):
    """`snmp_oid`: the numeric value of a GET, or the rows a walk picked."""

    value: float | None = None
    rows: int | None = None

    def _figures(self) -> Iterator[tuple[str, Figure]]:
        yield "snmp_value", self.value
        yield "snmp_rows", self.rows
