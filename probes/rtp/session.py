"""One call's media, sans-IO: what to send when, and what the received packets mean.

The asyncio endpoint (endpoint.py) only owns the sockets and the clock; this
core decides everything else, aioquic style, with `now` passed in:

* sending: packet n of the test signal (our tones, probes/rtp/g711.py) is due
  at `start + n * ptime` (`PacingSchedule`); a DTMF plan replaces the audio
  of the packets its events span (dtmf.py); RTCP is due every
  `rtcp_interval` (rtcpstate.py builds it);
* receiving, per SSRC (bounded): RFC 3550 statistics (stats.py), a jitter
  buffer model whose discards count as loss (quality/jitterbuffer.py), the
  audio check of every played frame (quality/audio.py), and DTMF events;
* echo mode (the answer point's default): every packet from another SSRC is
  reflected to its source before any accounting (`receive_*` return True),
  so the echo adds no delay;
* a packet echo (SIPp `-rtp_echo`) returns our own SSRC: for those packets the
  round trip is measured from the send time of the same sequence number,
  which works when the far end sends no RTCP at all.

Packets are parsed on a fast path when the header is the plain 12 octets
(V=2, no padding, extension or CSRC: every packet a G.711 sender sends);
anything else goes through the full parser.
"""

from __future__ import annotations

import contextlib
import struct
from dataclasses import dataclass, field

from ..errors import InvalidValue, LocalProtocolError, MediaParseError
from ..quality.audio import AudioCheck, AudioFigures, FrameClassifier, Signal, classifier
from ..quality.jitterbuffer import (
    BufferFigures,
    JitterBuffer,
    JitterBufferKind,
    JitterBufferSettings,
)
from .dtmf import DtmfPlan, DtmfReceiver
from .g711 import (
    ANSWER_TONES_HZ,
    CALLER_TONES_HZ,
    FRAME_SAMPLES,
    SAMPLE_RATE,
    Law,
    reference_signal,
)
from .packet import parse_rtp
from .rtcp import ExtendedReport, RtcpPacket, VoipMetrics, parse_compound
from .rtcpstate import AudioReport, PeerView, RtcpState, SenderInfo
from .sender import PacingSchedule
from .stats import ReceiveStats, StreamStats

__all__ = ["MediaReport", "MediaSession", "MediaSettings", "RxFigures"]

MAX_SOURCES = 8  # SSRCs tracked per call; more is a misbehaving peer, not more data
MAX_ECHO_SAMPLES = 100_000
_HEADER = struct.Struct("!BBHII")
_PLAIN = 0x80  # V=2, P=0, X=0, CC=0


@dataclass(frozen=True, slots=True)
class MediaSettings:
    """How one side of a call sends and judges media."""

    law: Law
    payload_type: int
    duration: float | None  # seconds of signal to send; None: until stopped
    ptime: float = 0.020
    signal: Signal = Signal.CALLER  # the tones we send; the other triple is the far end's
    telephone_event: int | None = None  # negotiated payload type of RFC 4733 events
    dtmf: tuple[tuple[str, float], ...] = ()  # (digit, seconds into the stream)
    jitter_buffer: JitterBufferSettings = field(default_factory=JitterBufferSettings)
    gap_seconds: float = 0.1
    rtcp_interval: float = 1.0
    echo: bool = False  # reflect others' packets and send nothing of our own
    answer_point: bool = False  # send back received digits; report our audio check (APP, XR)

    def __post_init__(self) -> None:
        if not 0 <= self.payload_type <= 127:
            raise InvalidValue(f"payload type out of range: {self.payload_type}")
        if self.duration is not None and not self.duration > 0:
            raise InvalidValue("duration must be positive")
        if not (self.ptime > 0 and self.rtcp_interval > 0):
            raise InvalidValue("ptime and rtcp_interval must be positive")
        if self.dtmf and self.telephone_event is None:
            raise InvalidValue("DTMF needs a negotiated telephone-event payload type")


@dataclass(frozen=True, slots=True)
class RxFigures:
    """What we received from the far end's main source."""

    ssrc: int
    stats: StreamStats
    buffer: BufferFigures
    audio: AudioFigures
    digits: str


@dataclass(frozen=True, slots=True)
class MediaReport:
    """What one call's media did, in base units (seconds, ratios, counts)."""

    tx_packets: int
    rx: RxFigures | None  # the SSRC we received most from
    rx_sources: int
    first_rx_at: float | None
    last_rx_at: float | None
    echo_rtt: float | None  # mean round trip of our own packets echoed back
    peer: PeerView
    own_ssrc_received: bool  # our own packets came back (a packet echo, or a loop)
    digits_sent: str
    pacing_p50: float | None
    pacing_p99: float | None
    pacing_max: float | None
    malformed: int

    @property
    def rtt(self) -> float | None:
        """The call's round trip: the mean of the RTCP samples, else of our echoed packets."""
        mean = self.peer.rtt_mean
        return mean if mean is not None else self.echo_rtt


class _Source:
    __slots__ = ("audio", "buffer", "count", "digits", "first_seq", "first_ts", "high_ext",
                 "high_seq", "stats", "ts_ext", "ts_last")

    def __init__(self, classifier: FrameClassifier, s: MediaSettings, seq: int, ts: int) -> None:
        self.stats = ReceiveStats()
        self.buffer = JitterBuffer(s.jitter_buffer)
        self.audio = AudioCheck(classifier, gap_seconds=s.gap_seconds, frame_seconds=s.ptime)
        self.digits = DtmfReceiver()
        self.count = 0
        self.first_seq = self.high_seq = seq
        self.high_ext = 0
        self.first_ts = self.ts_last = ts
        self.ts_ext = 0

    def position(self, seq: int) -> int:
        """Extended sequence number relative to the first packet (RFC 3550 A.1 unwrapping)."""
        delta = (seq - self.high_seq) & 0xFFFF
        if delta >= 0x8000:
            return self.high_ext - (0x10000 - delta)
        self.high_seq = seq
        self.high_ext += delta
        return self.high_ext

    def seconds(self, ts: int) -> float:
        """The RTP timestamp in seconds since the first packet's (unwrapped, signed)."""
        delta = (ts - self.ts_last) & 0xFFFFFFFF
        if delta >= 0x80000000:
            delta -= 0x100000000
        ext = self.ts_ext + delta
        if delta > 0:
            self.ts_last, self.ts_ext = ts, ext
        return ext / SAMPLE_RATE


class MediaSession:
    """One side of a call's media (see the module docstring)."""

    def __init__(self, settings: MediaSettings, *, ssrc: int, first_sequence: int,
                 first_timestamp: int, cname: str = "monitord") -> None:
        if not (0 <= first_sequence < 1 << 16 and 0 <= first_timestamp < 1 << 32):
            raise InvalidValue("first sequence/timestamp out of range")
        self.s = settings
        self.ssrc = ssrc
        self.rtcp = RtcpState(ssrc, cname)
        self._seq0 = first_sequence
        self._ts0 = first_timestamp
        mine = settings.signal
        tones = CALLER_TONES_HZ if mine is Signal.CALLER else ANSWER_TONES_HZ
        self._frames = reference_signal(settings.law, tones).frames
        self._ticks = round(settings.ptime * SAMPLE_RATE)  # RTP timestamp units per packet
        self._classifier = classifier(settings.law, mine)
        self._dtmf = DtmfPlan("".join(d for d, _ in settings.dtmf),
                              tuple(o for _, o in settings.dtmf), settings.ptime)
        self._schedule: PacingSchedule | None = None
        self._sent = 0
        self._octets = 0
        self._sent_at: list[float] = []
        self._lateness: list[float] = []
        self._next_rtcp: float | None = None
        self._stopped = False
        self._sources: dict[int, _Source] = {}
        self._own: _Source | None = None
        self._echo_rtts: list[float] = []
        self.first_rx_at: float | None = None
        self.last_rx_at: float | None = None
        self.malformed = 0

    # -- sending ------------------------------------------------------------------------

    def start(self, now: float) -> None:
        if self._schedule is not None:
            raise LocalProtocolError("MediaSession.start() may run once")
        s = self.s
        count = None if s.duration is None else max(1, round(s.duration / s.ptime))
        if s.echo:
            count = 0
        self._schedule = PacingSchedule(now, s.ptime, count)
        self._next_rtcp = now + min(0.5, s.rtcp_interval)

    @property
    def started(self) -> bool:
        return self._schedule is not None

    @property
    def sending(self) -> bool:
        sch = self._schedule
        return sch is not None and (sch.count is None or self._sent < sch.count)

    @property
    def sent(self) -> int:
        return self._sent

    def next_rtp_deadline(self) -> float | None:
        sch = self._schedule
        return None if sch is None else sch.next_deadline(self._sent)

    def due(self, horizon: float) -> int:
        """How many packets should have left by `horizon` (packets `sent`..due-1 go now)."""
        sch = self._schedule
        return 0 if sch is None else sch.due(horizon)

    def packet(self, n: int) -> bytes:
        """Packet n of our stream: the signal's frame, or a DTMF event in its place."""
        s = self.s
        seq = (self._seq0 + n) & 0xFFFF
        event = self._dtmf.packet(n) if self._dtmf else None
        if event is None:
            frames = self._frames
            return _HEADER.pack(_PLAIN, (0x80 if n == 0 else 0) | s.payload_type, seq,
                                (self._ts0 + n * self._ticks) & 0xFFFFFFFF,
                                self.ssrc) + frames[n % len(frames)]
        back, marker, payload = event
        assert s.telephone_event is not None  # MediaSettings checks it
        return _HEADER.pack(_PLAIN, (0x80 if marker else 0) | s.telephone_event, seq,
                            (self._ts0 + (n - back) * self._ticks) & 0xFFFFFFFF,
                            self.ssrc) + payload

    def rtp_due(self, horizon: float) -> list[bytes]:
        """The packets due by `horizon`, in order; mark each sent with `sent_at` after sending."""
        return [self.packet(n) for n in range(self._sent, self.due(horizon))]

    def sent_at(self, at: float) -> None:
        """Packet number `sent` left at `at` (our clock): for pacing error and echo RTT."""
        sch = self._schedule
        if sch is None:
            return
        n = self._sent
        self._lateness.append(at - sch.deadline(n))
        self._sent_at.append(at)
        self._sent = n + 1
        self._octets += FRAME_SAMPLES

    def rtcp_due(self, now: float) -> bytes | None:
        """Our compound RTCP packet if one is due by `now`."""
        if self._next_rtcp is None or now < self._next_rtcp:
            return None
        self._next_rtcp = now + self.s.rtcp_interval if self.sending else None
        return self._compound(now)

    def next_rtcp_at(self) -> float | None:
        return self._next_rtcp

    def stop(self, now: float) -> bytes | None:
        """Stop sending; the RTCP BYE (§6.6) to send, if we had started."""
        if self._schedule is None or self._stopped:
            return None
        self._stopped = True
        sch = self._schedule
        self._schedule = PacingSchedule(sch.start, sch.ptime, self._sent)
        self._next_rtcp = None
        return self._compound(now, bye=True)

    def _compound(self, now: float, bye: bool = False) -> bytes:
        sch = self._schedule
        sender = None
        if sch is not None and self._sent:
            elapsed = max(0.0, now - sch.start)
            sender = SenderInfo(self._sent, self._octets,
                                self._ts0 + round(elapsed * SAMPLE_RATE))
        extra: list[RtcpPacket] = []
        if self.s.answer_point:
            extra.extend(self._answer_point_reports())
        sources = {ssrc: src.stats for ssrc, src in self._sources.items()}
        return self.rtcp.compound(now, sender, sources, bye=bye, extra=extra)

    def _answer_point_reports(self) -> list[RtcpPacket]:
        main = self._main()
        if main is None:
            return []
        ssrc, src = main
        audio = src.audio.figures()
        stats, buffer = src.stats.snapshot(), src.buffer.figures()
        expected = max(1, stats.expected)
        xr = VoipMetrics(
            ssrc=ssrc, loss_rate=min(255, stats.lost * 256 // expected),
            discard_rate=min(255, buffer.discarded * 256 // expected),
            burst_density=0, gap_density=min(255, (stats.lost + buffer.discarded) * 256
                                             // expected),
            burst_duration=0, gap_duration=min(0xFFFF, round(audio.positions * self.s.ptime
                                                              * 1000)),
            round_trip_delay=0, end_system_delay=0, signal_level=127, noise_level=127,
            rerl=127, gmin=16, r_factor=127, ext_r_factor=127, mos_lq=127, mos_cq=127,
            rx_config=0x30 if self.s.jitter_buffer.kind is JitterBufferKind.ADAPTIVE else 0x20,
            reserved=0,
            jb_nominal=min(0xFFFF, round(buffer.mean_delay * 1000)),
            jb_maximum=min(0xFFFF, round(buffer.max_delay * 1000)),
            jb_abs_max=min(0xFFFF, round(self.s.jitter_buffer.maximum * 1000)))
        return [ExtendedReport(self.ssrc, (xr,)),
                AudioReport(ssrc, audio, src.digits.digits).serialize(self.ssrc)]

    # -- receiving ----------------------------------------------------------------------

    def receive_rtp(self, data: bytes, now: float) -> bool:
        """Account for one RTP datagram; True if it is to be reflected to its source."""
        if len(data) >= 12 and data[0] == _PLAIN:
            _, second, seq, ts, ssrc = _HEADER.unpack_from(data)
            pt, payload = second & 0x7F, data[12:]
        else:
            try:
                packet = parse_rtp(data)
            except MediaParseError:
                self.malformed += 1
                return False
            pt, seq, ts, ssrc, payload = (packet.payload_type, packet.sequence,
                                          packet.timestamp, packet.ssrc, packet.payload)
        reflect = self.s.echo and ssrc != self.ssrc
        src = self._sources.get(ssrc)
        if src is None:
            if len(self._sources) >= MAX_SOURCES:
                self.malformed += 1
                return reflect
            src = self._sources[ssrc] = _Source(self._classifier, self.s, seq, ts)
            if ssrc == self.ssrc:
                self._own = src
        src.count += 1
        if self.first_rx_at is None:
            self.first_rx_at = now
        self.last_rx_at = now
        position = src.position(seq)
        event = pt == self.s.telephone_event and pt != self.s.payload_type
        src.stats.receive(seq, ts, now, timing=not event)
        if event:
            src.audio.event(position)
            digit = src.digits.receive(ts, payload)
            if digit is not None and self.s.answer_point and ssrc != self.ssrc:
                self._send_back(digit)
        elif src.buffer.arrive(src.seconds(ts), now):
            src.audio.frame(position, payload)
        else:
            src.audio.discarded(position)
        if ssrc == self.ssrc:
            n = (seq - self._seq0) & 0xFFFF
            if n < len(self._sent_at) and len(self._echo_rtts) < MAX_ECHO_SAMPLES:
                # a kernel arrival stamp and our send stamp come from two clocks' reads:
                # on loopback they can cross by microseconds
                self._echo_rtts.append(max(0.0, now - self._sent_at[n]))
        return reflect

    def _send_back(self, digit: str) -> None:
        if self.s.telephone_event is None or self._schedule is None or self.s.echo:
            return
        with contextlib.suppress(InvalidValue):  # more digits than a call carries
            self._dtmf.add(digit, self._sent + 1)

    def receive_rtcp(self, data: bytes, now: float) -> bool:
        """Account for one RTCP datagram; True if it is to be reflected to its source."""
        try:
            packets = parse_compound(data)
        except MediaParseError:
            self.malformed += 1
            return False
        self.rtcp.receive(packets, now)
        return self.s.echo

    # -- the figures --------------------------------------------------------------------

    def _main(self) -> tuple[int, _Source] | None:
        if not self._sources:
            return None
        return max(self._sources.items(), key=lambda kv: kv[1].count)

    def report(self) -> MediaReport:
        main = self._main()
        rx = None
        if main is not None:
            ssrc, src = main
            rx = RxFigures(ssrc, src.stats.snapshot(), src.buffer.figures(),
                           src.audio.figures(), src.digits.digits)
        late = sorted(abs(x) for x in self._lateness)
        echo = self._echo_rtts
        return MediaReport(
            tx_packets=self._sent, rx=rx, rx_sources=len(self._sources),
            first_rx_at=self.first_rx_at, last_rx_at=self.last_rx_at,
            echo_rtt=sum(echo) / len(echo) if echo else None, peer=self.rtcp.view(),
            own_ssrc_received=self._own is not None, digits_sent=self._dtmf.digits,
            pacing_p50=late[len(late) // 2] if late else None,
            pacing_p99=late[min(len(late) - 1, int(len(late) * 0.99))] if late else None,
            pacing_max=late[-1] if late else None, malformed=self.malformed,
        )

    @property
    def lateness(self) -> list[float]:
        """Signed pacing error of every packet sent (the benchmark reads it)."""
        return self._lateness
