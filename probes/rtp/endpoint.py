"""The asyncio side of one call's media: an RTP/RTCP port pair that sends and measures.

The pure parts (pacing, packetising, receive statistics, RTCP, RTT) are in
this package's other modules; this adapter only supplies the clock
(`loop.time()`) and the sockets, as the house style asks.

* Sending is paced by absolute deadlines (`PacingSchedule`): a timer is armed
  a lead before packet n's deadline (epoll rounds timeouts up to whole ms;
  the lead follows the observed wake delay: `WakeLead` in sender.py), every
  packet due within the lead of the wake is sent when it fires, and how far from its deadline each one left is kept, so the
  benchmark can show that the sender adds no jitter of its own (p50/p99 of
  the absolute pacing error).
* Receiving feeds `ReceiveStats` per SSRC (bounded), and remembers when media
  first and last arrived: the call probe derives answer-to-first-media, "no
  media" and "media stopped" (a dropped call) from those instants.
* RTCP: an SR (with a report block about what we receive) and SDES CNAME go
  out every `rtcp_interval`; the peer's SR/RR report blocks about our SSRC
  give the RTT (RFC 3550 §6.4.1) and the loss and jitter the far end saw, i.e.
  the other direction. A one-second interval is shorter than RFC 3550's 5 s
  minimum, but a compound SR+SDES of ~90 octets a second is well inside the
  5 % RTCP share of a 64 kbit/s stream (§6.2), and a short test call needs
  more than one report to have an RTT at all.
* With `echo` set the endpoint is itself a packet echo (the responder's
  answer point): every RTP and RTCP packet from another SSRC goes straight
  back to its source, before any accounting, so the echo adds no delay.
* A packet echo (SIPp `-rtp_echo`) returns our own SSRC: for those packets
  the round trip is measured directly from the send time of the same
  sequence number (`echo_rtt`), which also works when the far end sends no
  RTCP at all.

ICMP errors are deliberately not enabled on these sockets: with an
unconnected socket they would need the error queue drained, and a far end
that stops is detected as media stopping anyway.
"""

from __future__ import annotations

import asyncio
import random
import socket
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidValue, LocalProtocolError, MediaParseError
from .g711 import Law, reference_signal
from .packet import RtpPacket, parse_rtp
from .rtcp import (
    Bye,
    ExtendedReport,
    ReceiverReport,
    ReportBlock,
    SenderReport,
    SourceDescription,
    VoipMetrics,
    parse_compound,
    serialize_compound,
)
from .rtt import ntp_from_seconds, report_timing
from .sender import PacingSchedule, Packetiser, WakeLead
from .stats import ReceiveStats, StreamStats

__all__ = ["MediaReport", "RtpEndpoint", "open_port_pair"]

Address = tuple[str, int]
MAX_SOURCES = 8  # SSRCs tracked per call; more is a misbehaving peer, not more data
BIND_ATTEMPTS = 64


def open_port_pair(host: str) -> tuple[socket.socket, socket.socket]:
    """Bind an even RTP port and the odd RTCP port above it (RFC 3550 §11)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(BIND_ATTEMPTS):
        rtp = socket.socket(family, socket.SOCK_DGRAM)
        try:
            rtp.bind((host, 0))
            port = int(rtp.getsockname()[1])
            if port % 2 == 0 and port < 65535:
                rtcp = socket.socket(family, socket.SOCK_DGRAM)
                try:
                    rtcp.bind((host, port + 1))
                except OSError:
                    rtcp.close()
                else:
                    rtp.setblocking(False)
                    rtcp.setblocking(False)
                    return rtp, rtcp
        except OSError:
            rtp.close()
            raise
        rtp.close()
    raise OSError(f"no free even/odd UDP port pair on {host} after {BIND_ATTEMPTS} attempts")


@dataclass(frozen=True, slots=True)
class MediaReport:
    """What one call's media did, in base units (seconds, ratios, counts)."""

    tx_packets: int
    rx: StreamStats | None  # the SSRC we received most from
    rx_sources: int
    first_rx_at: float | None
    last_rx_at: float | None
    rtcp_rtt: float | None  # latest RTT from the peer's LSR/DLSR
    echo_rtt: float | None  # median round trip of our own packets echoed back
    tx_loss: float | None  # loss the far end reported for our stream (its RR)
    tx_jitter: float | None  # interarrival jitter the far end reported, seconds
    peer_reports: int
    voip_metrics: VoipMetrics | None
    pacing_p50: float | None
    pacing_p99: float | None
    pacing_max: float | None

    @property
    def rtt(self) -> float | None:
        return self.rtcp_rtt if self.rtcp_rtt is not None else self.echo_rtt


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes, Address], None]) -> None:
        self._on = on_datagram

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self._on(data, (str(addr[0]), int(addr[1])))


@dataclass(eq=False)
class _Send:
    schedule: PacingSchedule
    packetiser: Packetiser
    rtp_dest: Address
    rtcp_dest: Address
    sent: int = 0
    octets: int = 0
    lateness: list[float] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None
    armed_at: float | None = None  # when the send timer was due to run
    lead: WakeLead = field(default_factory=WakeLead)


class RtpEndpoint:
    """One call's RTP/RTCP port pair. `await open(host)`, `start(...)`, `await close()`."""

    def __init__(self, rtcp_interval: float = 1.0, cname: str = "monitord") -> None:
        if rtcp_interval <= 0:
            raise InvalidValue("rtcp_interval must be positive")
        self.rtcp_interval = rtcp_interval
        self.cname = cname
        self.ssrc = random.getrandbits(32)
        self.rtp_port = 0
        self.rtcp_port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._rtp: asyncio.DatagramTransport | None = None
        self._rtcp: asyncio.DatagramTransport | None = None
        self._send: _Send | None = None
        self._rtcp_timer: asyncio.TimerHandle | None = None
        self._sources: dict[int, ReceiveStats] = {}
        self._counts: dict[int, int] = {}
        self._peer_sr: dict[int, tuple[int, float]] = {}  # ssrc -> (NTP of its SR, arrival)
        self.first_rx_at: float | None = None
        self.last_rx_at: float | None = None
        self.malformed = 0
        self._echo_rtts: list[float] = []
        self._rtcp_rtt: float | None = None
        self._peer_block: ReportBlock | None = None
        self._peer_reports = 0
        self._voip: VoipMetrics | None = None
        self.media_arrived = asyncio.Event()
        self.echo = False  # reflect others' packets to their source (see the docstring)

    async def open(self, host: str) -> RtpEndpoint:
        loop = self._loop = asyncio.get_running_loop()
        rtp_sock, rtcp_sock = open_port_pair(host)
        self.rtp_port = int(rtp_sock.getsockname()[1])
        self.rtcp_port = self.rtp_port + 1
        try:
            rtp, _ = await loop.create_datagram_endpoint(
                lambda: _Datagrams(self._on_rtp), sock=rtp_sock)
        except BaseException:
            rtp_sock.close()
            rtcp_sock.close()
            raise
        self._rtp = rtp
        try:
            rtcp, _ = await loop.create_datagram_endpoint(
                lambda: _Datagrams(self._on_rtcp), sock=rtcp_sock)
        except BaseException:
            rtcp_sock.close()
            rtp.close()
            raise
        self._rtcp = rtcp
        return self

    # -- sending ----------------------------------------------------------------

    def start(
        self, rtp_dest: Address, rtcp_dest: Address, *, law: Law, payload_type: int,
        duration: float, ptime: float = 0.020,
    ) -> None:
        """Send the test signal for `duration` seconds, starting now; RTCP from now on."""
        loop = self._loop
        if loop is None or self._send is not None:
            raise LocalProtocolError("RtpEndpoint.start() needs open() and may run once")
        count = max(1, round(duration / ptime))
        self._send = _Send(
            PacingSchedule(loop.time(), ptime, count),
            Packetiser(reference_signal(law), self.ssrc, random.getrandbits(16),
                       random.getrandbits(32), payload_type),
            rtp_dest, rtcp_dest,
        )
        self._on_send_timer()
        self._rtcp_timer = loop.call_later(min(0.5, self.rtcp_interval), self._on_rtcp_timer)

    @property
    def sending(self) -> bool:
        s = self._send
        return s is not None and s.sent < (s.schedule.count or 0)

    def _on_send_timer(self) -> None:
        s, loop, transport = self._send, self._loop, self._rtp
        if s is None or loop is None or transport is None or transport.is_closing():
            return
        s.timer = None
        now = loop.time()
        if s.armed_at is not None:
            s.lead.observe(now - s.armed_at)
        for n in range(s.sent, s.schedule.due(now + s.lead.lead)):
            data = s.packetiser.packet(n).serialize()
            transport.sendto(data, s.rtp_dest)
            sent_at = loop.time()
            s.lateness.append(s.schedule.lateness(n, sent_at))
            s.sent_at.append(sent_at)
            s.sent = n + 1
            s.octets += len(data) - 12
        when = s.schedule.next_deadline(s.sent)
        if when is not None:
            s.armed_at = when - s.lead.lead
            s.timer = loop.call_at(s.armed_at, self._on_send_timer)

    def _on_rtcp_timer(self) -> None:
        self._rtcp_timer = None
        if self._loop is None or self._send is None:
            return
        self._send_rtcp()
        if self.sending or self._send.sent == 0:
            self._rtcp_timer = self._loop.call_later(self.rtcp_interval, self._on_rtcp_timer)

    def _send_rtcp(self, bye: bool = False) -> None:
        s, loop, transport = self._send, self._loop, self._rtcp
        if s is None or loop is None or transport is None or transport.is_closing():
            return
        now = loop.time()
        blocks = []
        for ssrc, stats in list(self._sources.items())[:31]:
            if ssrc == self.ssrc or not stats.valid:
                continue  # our own echo is not a source to report on
            fig = stats.report()
            sr = self._peer_sr.get(ssrc)
            lsr, dlsr = report_timing(sr[0] if sr else None, sr[1] if sr else None, now)
            blocks.append(ReportBlock(ssrc, fig.fraction_lost, fig.cumulative_lost,
                                      fig.extended_highest_sequence, fig.jitter, lsr, dlsr))
        first = s.packetiser.first_timestamp
        elapsed = max(0.0, now - s.schedule.start)
        packets: list[SenderReport | SourceDescription | Bye] = [
            SenderReport(self.ssrc, ntp_from_seconds(now, unix=False),
                         (first + round(elapsed * 8000)) % (1 << 32),
                         s.sent % (1 << 32), s.octets % (1 << 32), tuple(blocks)),
            SourceDescription.with_cname(self.ssrc, self.cname),
        ]
        if bye:
            packets.append(Bye((self.ssrc,)))
        transport.sendto(serialize_compound(packets), s.rtcp_dest)

    def stop(self) -> None:
        """Stop sending (RTCP BYE, §6.6); keep receiving until `close()`."""
        s = self._send
        if s is not None and s.timer is not None:
            s.timer.cancel()
            s.timer = None
        if self._rtcp_timer is not None:
            self._rtcp_timer.cancel()
            self._rtcp_timer = None
            self._send_rtcp(bye=True)

    async def close(self) -> None:
        self.stop()
        for transport in (self._rtp, self._rtcp):
            if transport is not None:
                transport.close()
        self._rtp = self._rtcp = None
        await asyncio.sleep(0)  # let the transports' connection_lost run: no ResourceWarning

    # -- receiving -----------------------------------------------------------------

    def _on_rtp(self, data: bytes, source: Address) -> None:
        if self._loop is None:
            return
        now = self._loop.time()
        try:
            packet = parse_rtp(data)
        except MediaParseError:
            self.malformed += 1
            return
        if self.echo and packet.ssrc != self.ssrc and self._rtp is not None:
            self._rtp.sendto(data, source)
        stats = self._sources.get(packet.ssrc)
        if stats is None:
            if len(self._sources) >= MAX_SOURCES:
                self.malformed += 1
                return
            stats = self._sources[packet.ssrc] = ReceiveStats()
        stats.receive(packet.sequence, packet.timestamp, now)
        self._counts[packet.ssrc] = self._counts.get(packet.ssrc, 0) + 1
        if self.first_rx_at is None:
            self.first_rx_at = now
            self.media_arrived.set()
        self.last_rx_at = now
        if packet.ssrc == self.ssrc:
            self._echo(packet, now)

    def _echo(self, packet: RtpPacket, now: float) -> None:
        s = self._send
        if s is None:
            return
        n = (packet.sequence - s.packetiser.first_sequence) % (1 << 16)
        if n < len(s.sent_at) and len(self._echo_rtts) < 100_000:
            self._echo_rtts.append(now - s.sent_at[n])

    def _on_rtcp(self, data: bytes, source: Address) -> None:
        if self._loop is None:
            return
        now = self._loop.time()
        try:
            packets = parse_compound(data)
        except MediaParseError:
            self.malformed += 1
            return
        if self.echo and self._rtcp is not None:
            self._rtcp.sendto(data, source)
        for p in packets:
            if isinstance(p, SenderReport | ReceiverReport):
                known = p.ssrc in self._peer_sr or len(self._peer_sr) < MAX_SOURCES
                if isinstance(p, SenderReport) and p.ssrc != self.ssrc and known:
                    self._peer_sr[p.ssrc] = (p.ntp_timestamp, now)
                for block in p.reports:
                    if block.ssrc == self.ssrc and p.ssrc != self.ssrc:
                        self._peer_reports += 1
                        self._peer_block = block
                        rtt = block.rtt(ntp_from_seconds(now, unix=False))
                        if rtt is not None:
                            self._rtcp_rtt = rtt
            elif isinstance(p, ExtendedReport) and p.ssrc != self.ssrc:
                self._voip = p.voip_metrics or self._voip

    # -- the figures ---------------------------------------------------------------

    def report(self) -> MediaReport:
        s = self._send
        main = max(self._counts, key=lambda k: self._counts[k]) if self._counts else None
        tx_loss = tx_jitter = None
        block = self._peer_block
        if block is not None and s is not None and s.sent:
            expected = (block.highest_sequence - s.packetiser.first_sequence) % (1 << 32) + 1
            if 0 < expected <= s.sent + 1:
                tx_loss = max(0, block.cumulative_lost) / expected
            tx_jitter = block.jitter / 8000
        late = sorted(abs(x) for x in s.lateness) if s is not None and s.lateness else []
        return MediaReport(
            tx_packets=s.sent if s is not None else 0,
            rx=self._sources[main].snapshot() if main is not None else None,
            rx_sources=len(self._sources),
            first_rx_at=self.first_rx_at,
            last_rx_at=self.last_rx_at,
            rtcp_rtt=self._rtcp_rtt,
            echo_rtt=statistics.median(self._echo_rtts) if self._echo_rtts else None,
            tx_loss=tx_loss,
            tx_jitter=tx_jitter,
            peer_reports=self._peer_reports,
            voip_metrics=self._voip,
            pacing_p50=late[len(late) // 2] if late else None,
            pacing_p99=late[min(len(late) - 1, int(len(late) * 0.99))] if late else None,
            pacing_max=late[-1] if late else None,
        )
