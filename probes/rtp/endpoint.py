"""The asyncio side of one call's media: an RTP/RTCP port pair around a `MediaSession`.

Everything with meaning (what to send when, statistics, the jitter buffer
model, the audio check, DTMF, RTCP) is in the sans-IO `MediaSession`
(session.py); this adapter supplies the sockets and the clock
(`loop.time()`), as the house style asks.

* Sending is paced by absolute deadlines: a timer is armed a lead before the
  next packet's deadline (epoll rounds timeouts up to whole ms; the lead
  follows the observed wake delay: `WakeLead` in sender.py), every packet
  due within the lead of the wake is sent when it fires, and the instant
  each left goes back to the session (pacing error, echo round trips). The
  timer is a `Pacer`'s (pacer.py): given one shared by every call of a loop,
  all their streams wake on one timer.
* RTCP goes out when the session says it is due (one timer); a one-second
  interval is shorter than RFC 3550's 5 s minimum, but a compound SR+SDES of
  ~90 octets a second is well inside the 5 % RTCP share of a 64 kbit/s
  stream (§6.2), and a short test call needs more than one report to have an
  RTT at all.
* Receiving reads every queued datagram per wake-up, each with its kernel
  arrival stamp (probes/datagrams.py), so jitter, the jitter buffer model and
  "media stopped" are judged on the wire: a daemon that falls behind does not
  invent jitter and late packets of its own.
* With `echo` the session says which packets to reflect; they go straight
  back to their source before anything else.

ICMP errors are deliberately not enabled on these sockets: with an
unconnected socket they would need the error queue drained, and a far end
that stops is detected as media stopping anyway.
"""

from __future__ import annotations

import asyncio
import random
import socket

from ..datagrams import enable_timestamps, receive_one
from ..errors import InvalidValue, LocalProtocolError
from .pacer import Pacer
from .session import MediaReport, MediaSession, MediaSettings

__all__ = ["MediaReport", "MediaSettings", "RtpEndpoint", "open_port_pair"]

Address = tuple[str, int]
BIND_ATTEMPTS = 64
READ_BATCH = 64  # datagrams read per wake-up of one socket
# A datagram that waited less than this in our socket says the loop keeps up: the queue
# is then most likely empty, and is not probed once more (a failing recvmsg per packet);
# if it is not, epoll reports the socket again. One that waited longer: read on.
FRESH = 0.002
RECEIVE_BUFFER = 256 * 1024  # per socket: a second of RTP is 8 KiB


def _address(source: tuple[object, ...]) -> Address:
    return str(source[0]), int(str(source[1]))


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


class RtpEndpoint:
    """One call's RTP/RTCP port pair. `await open(host)`, `start(...)`, `await close()`."""

    def __init__(self, rtcp_interval: float = 1.0, cname: str = "monitord",
                 pacer: Pacer | None = None) -> None:
        if rtcp_interval <= 0:
            raise InvalidValue("rtcp_interval must be positive")
        self.rtcp_interval = rtcp_interval
        self.cname = cname
        self.ssrc = random.getrandbits(32)
        self.rtp_port = 0
        self.rtcp_port = 0
        self.session: MediaSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._rtp: socket.socket | None = None
        self._rtcp: socket.socket | None = None
        self._rtp_dest: Address | None = None
        self._rtcp_dest: Address | None = None
        self._pacer = Pacer() if pacer is None else pacer  # our own: a timer of our own
        self._rtcp_timer: asyncio.TimerHandle | None = None
        self.send_errors = 0
        self.media_arrived = asyncio.Event()
        self._arrived = False

    async def open(self, host: str) -> RtpEndpoint:
        loop = self._loop = asyncio.get_running_loop()
        rtp, rtcp = open_port_pair(host)
        for sock in (rtp, rtcp):
            enable_timestamps(sock, RECEIVE_BUFFER)
        self._rtp, self._rtcp = rtp, rtcp
        self.rtp_port = int(rtp.getsockname()[1])
        self.rtcp_port = self.rtp_port + 1
        loop.add_reader(rtp.fileno(), self._read, rtp, True)
        loop.add_reader(rtcp.fileno(), self._read, rtcp, False)
        return self

    def _sendto(self, sock: socket.socket | None, data: bytes, dest: Address | None) -> None:
        if sock is None or dest is None:
            return
        try:
            sock.sendto(data, dest)
        except OSError:  # a full send buffer or an unreachable peer: the packet is lost
            self.send_errors += 1

    def attach(self, settings: MediaSettings) -> MediaSession:
        """Give the port pair its session (what it sends and how it judges what arrives)."""
        if self.session is not None:
            raise LocalProtocolError("RtpEndpoint.attach() may run once")
        self.session = MediaSession(settings, ssrc=self.ssrc,
                                    first_sequence=random.getrandbits(16),
                                    first_timestamp=random.getrandbits(32), cname=self.cname)
        return self.session

    # -- sending ----------------------------------------------------------------

    def start(self, rtp_dest: Address, rtcp_dest: Address,
              settings: MediaSettings | None = None) -> None:
        """Start the session now: the test signal (unless echoing) and RTCP."""
        loop, session = self._loop, self.session
        if settings is not None and session is None:
            session = self.attach(settings)
        if loop is None or session is None or session.started:
            raise LocalProtocolError("RtpEndpoint.start() needs open() and a session, once")
        self._rtp_dest, self._rtcp_dest = rtp_dest, rtcp_dest
        session.start(loop.time())
        when = self.pace(loop.time() + self._pacer.lead.lead)
        if when is not None:
            self._pacer.schedule(self, when)
        self._arm_rtcp()

    @property
    def sending(self) -> bool:
        return self.session is not None and self.session.sending

    def pace(self, horizon: float) -> float | None:
        """Send every packet due by `horizon` (the pacer's wake plus its lead); the next
        packet's deadline, or None when the stream is done."""
        session, loop, sock = self.session, self._loop, self._rtp
        if session is None or loop is None or sock is None:
            return None
        dest = self._rtp_dest
        clock = loop.time
        for n in range(session.sent, session.due(horizon)):
            data = session.packet(n)
            session.sent_at(clock())  # before the syscall: its echo may be stamped within
            self._sendto(sock, data, dest)
        return session.next_rtp_deadline()

    def _arm_rtcp(self) -> None:
        session, loop = self.session, self._loop
        if session is None or loop is None:
            return
        when = session.next_rtcp_at()
        if when is not None:
            self._rtcp_timer = loop.call_at(when, self._on_rtcp_timer)

    def _on_rtcp_timer(self) -> None:
        self._rtcp_timer = None
        session, loop = self.session, self._loop
        if session is None or loop is None or self._rtcp is None:
            return
        data = session.rtcp_due(loop.time())
        if data is not None:
            self._sendto(self._rtcp, data, self._rtcp_dest)
        self._arm_rtcp()

    def stop(self) -> None:
        """Stop sending (RTCP BYE, §6.6); keep receiving until `close()`."""
        self._pacer.cancel(self)
        if self._rtcp_timer is not None:
            self._rtcp_timer.cancel()
        self._rtcp_timer = None
        session, loop = self.session, self._loop
        if session is None or loop is None:
            return
        bye = session.stop(loop.time())
        if bye is not None:
            self._sendto(self._rtcp, bye, self._rtcp_dest)

    async def close(self) -> None:
        self.stop()
        for sock in (self._rtp, self._rtcp):
            if sock is not None:
                if self._loop is not None:
                    self._loop.remove_reader(sock.fileno())
                sock.close()
        self._rtp = self._rtcp = None
        await asyncio.sleep(0)

    # -- receiving -----------------------------------------------------------------

    def _read(self, sock: socket.socket, rtp: bool, drain: bool = False) -> None:
        """What is queued on one socket (bounded), each datagram with its kernel arrival
        stamp, so our own lag never reads as the network's jitter. On a wake-up, a fresh
        datagram ends the batch (see FRESH); `drain` reads until the queue is empty."""
        session, loop = self.session, self._loop
        if loop is None:
            return
        clock, catch_up = loop.time, self._pacer.catch_up
        for _ in range(READ_BATCH):
            try:
                d = receive_one(sock, clock)
            except OSError:
                return
            if d is None:
                return
            if session is not None:  # before the call has its media: nothing to judge by
                if rtp:
                    if session.receive_rtp(d.data, d.arrival):
                        self._sendto(sock, d.data, _address(d.source))
                    if not self._arrived:
                        self._arrived = True
                        self.media_arrived.set()
                elif session.receive_rtcp(d.data, d.arrival):
                    self._sendto(sock, d.data, _address(d.source))
            now = clock()
            catch_up(now)
            if not drain and now - d.arrival < FRESH:
                return

    def drain(self) -> None:
        """Read what is queued now: before judging silence, be sure it is not ours."""
        for sock, rtp in ((self._rtp, True), (self._rtcp, False)):
            if sock is not None:
                self._read(sock, rtp, drain=True)

    @property
    def last_rx_at(self) -> float | None:
        return None if self.session is None else self.session.last_rx_at

    def report(self) -> MediaReport:
        if self.session is None:
            raise LocalProtocolError("RtpEndpoint.report() before a session was attached")
        return self.session.report()
