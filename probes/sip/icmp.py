"""ICMP errors for an unconnected UDP socket, via the Linux socket error queue.

An unconnected socket normally never hears about ICMP "port unreachable", so a
dead SIP server would only show up as a 32-second Timer F timeout. With
IP_RECVERR/IPV6_RECVERR the kernel queues each ICMP error together with the
original destination (ip(7), ipv6(7)), which tells us exactly which
transactions to fail. On other platforms this module does nothing.
"""

from __future__ import annotations

import logging
import socket
import struct
import sys

__all__ = ["enable_icmp_errors", "read_icmp_errors"]

log = logging.getLogger(__name__)

# Not exported by Python 3.11's socket module; values from <linux/in.h>, <linux/in6.h>.
IP_RECVERR: int = getattr(socket, "IP_RECVERR", 11)
IPV6_RECVERR: int = getattr(socket, "IPV6_RECVERR", 25)
SUPPORTED = sys.platform.startswith("linux")
# struct sock_extended_err: ee_errno, ee_origin, ee_type, ee_code, ee_pad, ee_info, ee_data
_SOCK_EE = struct.Struct("=IBBBBII")
_RECVERR_CMSGS = ((socket.IPPROTO_IP, IP_RECVERR), (socket.IPPROTO_IPV6, IPV6_RECVERR))


def enable_icmp_errors(sock: socket.socket) -> None:
    """Ask the kernel to queue ICMP errors on this UDP socket (no-op off Linux)."""
    if not SUPPORTED:
        return
    if sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
    else:
        sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)


def read_icmp_errors(sock: socket.socket) -> list[tuple[tuple[object, ...], int]]:
    """Drain the error queue: (original destination address, errno) per queued error.

    ECONNREFUSED means ICMP port unreachable; other errnos are host/network
    unreachable and the like. Never blocks and never raises.
    """
    if not SUPPORTED:
        return []
    errors: list[tuple[tuple[object, ...], int]] = []
    while True:
        try:
            _, ancdata, _, addr = sock.recvmsg(1, 512, socket.MSG_ERRQUEUE)
        except (BlockingIOError, InterruptedError):
            return errors
        except OSError as exc:
            log.debug("reading the socket error queue failed: %s", exc)
            return errors
        ee_errno = 0
        for level, kind, cdata in ancdata:
            if (level, kind) in _RECVERR_CMSGS and len(cdata) >= _SOCK_EE.size:
                ee_errno = _SOCK_EE.unpack_from(cdata)[0]
        if isinstance(addr, tuple):
            errors.append((addr, ee_errno))
