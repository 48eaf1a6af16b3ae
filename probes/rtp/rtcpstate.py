"""One RTP session's RTCP bookkeeping, sans-IO: what peers told us, what we tell them.

Moved out of the asyncio endpoint so it is tested with a clock passed in:

* the peer SR table (SSRC -> NTP timestamp of its last SR, our arrival time),
  which our report blocks echo as LSR/DLSR (RFC 3550 §6.4.1);
* every RTT sample a report block about our SSRC gives (A - LSR - DLSR); the
  call is rated on their mean, not on whichever came last;
* what the far end says it received from us: the latest report block about
  our SSRC (cumulative loss, highest sequence, jitter), the RFC 3611 VoIP
  Metrics block of its XR, and our answer point's audio report (APP, below);
* whether the far end sends RTCP at all, and how many of its reports were
  about us (a peer that reports, but never on our SSRC, does not hear us).

The audio report is an RTCP APP packet (§6.7) named "MNTD", sent by the
answer point about the stream it receives from the caller: what its audio
check found (probes/quality/audio.py) and the DTMF digits it got. Only our
own answer point sends it; any other peer ignores an APP it does not know
(§6.7), and we ignore anything malformed under that name.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..errors import InvalidValue, MediaParseError
from ..quality.audio import AudioFigures, Signal
from .rtcp import (
    Bye,
    ExtendedReport,
    ReceiverReport,
    ReportBlock,
    RtcpPacket,
    SenderReport,
    SourceDescription,
    UnknownPacket,
    VoipMetrics,
    serialize_compound,
)
from .rtt import ntp_from_seconds, report_timing
from .stats import ReceiveStats

__all__ = ["APP", "APP_NAME", "AudioReport", "PeerView", "RtcpState", "SenderInfo"]

APP = 204
APP_NAME = b"MNTD"
MAX_SOURCES = 8
MAX_RTT_SAMPLES = 10_000
_AUDIO = struct.Struct("!IIIIIIIHHHBx16s")
_SIGNALS = tuple(Signal)


@dataclass(frozen=True, slots=True)
class AudioReport:
    """The far end's audio check of our stream, as its APP packet carried it."""

    about: int  # SSRC the report is about
    figures: AudioFigures
    digits: str

    def serialize(self, sender: int) -> UnknownPacket:
        f = self.figures
        digits = self.digits.encode("ascii", "replace")[:16]
        data = APP_NAME + _AUDIO.pack(
            self.about, f.positions, f.ours, f.theirs, f.other, f.silent, f.missing,
            min(f.gaps, 0xFFFF), min(round(f.longest_gap_seconds * 1000), 0xFFFF),
            min(f.missing_runs, 0xFFFF), _SIGNALS.index(f.signal), digits.ljust(16, b"\0"))
        # §6.7: APP is SSRC, 4-character name, application data; the count field is the subtype
        return UnknownPacket(APP, 0, struct.pack("!I", sender) + data)

    @classmethod
    def parse(cls, packet: UnknownPacket) -> AudioReport | None:
        body = packet.body
        if packet.packet_type != APP or body[4:8] != APP_NAME or len(body) < 8 + _AUDIO.size:
            return None
        (about, positions, ours, theirs, other, silent, missing, gaps, longest_ms, runs,
         signal, digits) = _AUDIO.unpack_from(body, 8)
        if signal >= len(_SIGNALS) or ours + theirs + other + silent + missing > positions:
            return None
        figures = AudioFigures(
            positions=positions, ours=ours, theirs=theirs, other=other, silent=silent,
            events=positions - ours - theirs - other - silent - missing, missing=missing,
            clipped=0, gaps=gaps, longest_gap_seconds=longest_ms / 1000,
            gap_seconds=longest_ms / 1000 * min(gaps, 1), signal=_SIGNALS[signal],
            missing_runs=runs)
        return cls(about, figures, digits.rstrip(b"\0").decode("ascii", "replace"))


@dataclass(frozen=True, slots=True)
class SenderInfo:
    """Our sender state for an SR: packets and payload octets so far, RTP time now."""

    packets: int
    octets: int
    rtp_timestamp: int


@dataclass(frozen=True, slots=True)
class PeerView:
    """What the far end said about our stream (None: it never said)."""

    rtt_samples: tuple[float, ...]
    reports_about_us: int
    peer_reports: int  # SR/RR from other SSRCs, about us or not
    last_block: ReportBlock | None
    voip_metrics: VoipMetrics | None
    audio: AudioReport | None
    bye: bool

    @property
    def rtt_mean(self) -> float | None:
        return sum(self.rtt_samples) / len(self.rtt_samples) if self.rtt_samples else None


class RtcpState:
    """RTCP for one SSRC of ours (see the module docstring). `receive`, then `compound`."""

    __slots__ = ("_audio", "_block", "_bye", "_peer_reports", "_peer_sr", "_reports_about_us",
                 "_rtts", "_voip", "cname", "ssrc")

    def __init__(self, ssrc: int, cname: str) -> None:
        if not 0 <= ssrc < 1 << 32:
            raise InvalidValue(f"SSRC out of range: {ssrc}")
        self.ssrc = ssrc
        self.cname = cname
        self._peer_sr: dict[int, tuple[int, float]] = {}
        self._rtts: list[float] = []
        self._block: ReportBlock | None = None
        self._reports_about_us = 0
        self._peer_reports = 0
        self._voip: VoipMetrics | None = None
        self._audio: AudioReport | None = None
        self._bye = False

    def receive(self, packets: Iterable[RtcpPacket], now: float) -> None:
        """Account for one parsed compound packet that arrived at `now` (our clock)."""
        for p in packets:
            if isinstance(p, SenderReport | ReceiverReport):
                if p.ssrc == self.ssrc:
                    continue  # our own report, looped back by an echo
                self._peer_reports += 1
                known = p.ssrc in self._peer_sr or len(self._peer_sr) < MAX_SOURCES
                if isinstance(p, SenderReport) and known:
                    self._peer_sr[p.ssrc] = (p.ntp_timestamp, now)
                for block in p.reports:
                    if block.ssrc != self.ssrc:
                        continue
                    self._reports_about_us += 1
                    self._block = block
                    rtt = block.rtt(ntp_from_seconds(now, unix=False))
                    if rtt is not None and len(self._rtts) < MAX_RTT_SAMPLES:
                        self._rtts.append(rtt)
            elif isinstance(p, ExtendedReport) and p.ssrc != self.ssrc:
                metrics = p.voip_metrics
                if metrics is not None and metrics.ssrc == self.ssrc:
                    self._voip = metrics
            elif isinstance(p, Bye) and self.ssrc not in p.ssrcs:
                self._bye = True
            elif isinstance(p, UnknownPacket) and p.packet_type == APP:
                try:
                    report = AudioReport.parse(p)
                except (MediaParseError, ValueError, struct.error):
                    report = None
                if report is not None and report.about == self.ssrc:
                    self._audio = report

    def compound(self, now: float, sender: SenderInfo | None,
                 sources: Mapping[int, ReceiveStats], *, bye: bool = False,
                 extra: Iterable[RtcpPacket] = ()) -> bytes:
        """Our next compound packet: SR (or RR before we send), SDES CNAME, extras, BYE."""
        blocks = []
        for ssrc, stats in list(sources.items())[:31]:
            if ssrc == self.ssrc or not stats.valid:
                continue  # our own echo is not a source to report on
            fig = stats.report()
            sr = self._peer_sr.get(ssrc)
            lsr, dlsr = report_timing(sr[0] if sr else None, sr[1] if sr else None, now)
            blocks.append(ReportBlock(ssrc, fig.fraction_lost, fig.cumulative_lost,
                                      fig.extended_highest_sequence, fig.jitter, lsr, dlsr))
        first: SenderReport | ReceiverReport
        if sender is not None:
            first = SenderReport(self.ssrc, ntp_from_seconds(now, unix=False),
                                 sender.rtp_timestamp % (1 << 32), sender.packets % (1 << 32),
                                 sender.octets % (1 << 32), tuple(blocks))
        else:
            first = ReceiverReport(self.ssrc, tuple(blocks))
        packets: list[RtcpPacket] = [first, SourceDescription.with_cname(self.ssrc, self.cname)]
        packets.extend(extra)
        if bye:
            packets.append(Bye((self.ssrc,)))
        return serialize_compound(packets)

    def view(self) -> PeerView:
        return PeerView(tuple(self._rtts), self._reports_about_us, self._peer_reports,
                        self._block, self._voip, self._audio, self._bye)
