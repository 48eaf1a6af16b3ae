"""From a SIP URI to an address: IP literals, getaddrinfo, and our source address.

RFC 3263 location (NAPTR/SRV) lives in dns.py and hands the transport a
resolved address; what is left here is what every send needs: canonical
addresses (so '::1' and '0:0::1' file the same transaction), the system
resolver for targets located without DNS records, and the local address the
kernel would use towards a target (Via, Contact and SDP carry it).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
from collections.abc import Container

from ..base import FailureReason
from ..errors import ProbeFailure
from .uri import SipUri

__all__ = ["Address", "LocalAddresses", "canonical", "canonical_source", "ip_literal", "resolve"]

Address = tuple[str, int]


def canonical(addr: tuple[object, ...]) -> Address:
    """Canonical (ip, port) of a socket address (2- or 4-tuple)."""
    return _canonical_ip(str(addr[0])), int(str(addr[1]))


_sources: dict[tuple[object, ...], Address] = {}
_SOURCES_LIMIT = 4096


def canonical_source(addr: tuple[object, ...]) -> Address:
    """`canonical` of a socket address the kernel gave (a received datagram's source),
    kept per address: every answer from a target comes from the same one. Only for
    the kernel's addresses, whose host and port are always a str and an int (a port
    of 5060.0 would be taken for 5060 by the lookup; `canonical` refuses it)."""
    known = _sources.get(addr)
    if known is None:
        known = canonical(addr)
        if len(_sources) >= _SOURCES_LIMIT:
            _sources.clear()
        _sources[addr] = known
    return known


@functools.lru_cache(maxsize=8192)
def _canonical_ip(text: str) -> str:
    return str(ipaddress.ip_address(text))


@functools.lru_cache(maxsize=8192)
@functools.lru_cache(maxsize=4096)
def ip_literal(host: str) -> tuple[int, str] | None:
    """(family, canonical ip) if `host` is an IP literal, else None: parsed once per host."""
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return None
    return (socket.AF_INET6 if addr.version == 6 else socket.AF_INET), str(addr)


async def resolve(target: SipUri, stream: bool, families: Container[int]) -> tuple[int, str]:
    """(family, ip) of the URI's host by the system resolver; datagrams only to a family
    we have a socket for. Raises `ProbeFailure` (dns_failure)."""
    literal = ip_literal(target.host)
    if literal is not None:
        return literal
    kind = socket.SOCK_STREAM if stream else socket.SOCK_DGRAM
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            target.host, target.effective_port, type=kind)
    except (socket.gaierror, UnicodeError) as exc:
        raise ProbeFailure(FailureReason.DNS, f"cannot resolve {target.host!r}: {exc}") from exc
    for family, _, _, _, sockaddr in infos:
        if stream or family in families:
            return int(family), str(sockaddr[0])
    raise ProbeFailure(FailureReason.DNS, f"{target.host!r} has no usable address ({infos!r})")


class LocalAddresses:
    """Source IP the kernel picks towards a destination, found by a connected UDP
    socket (no packet is sent by a UDP connect) and cached, bounded."""

    def __init__(self, limit: int = 4096) -> None:
        self._cache: dict[str, str] = {}
        self._limit = limit

    def towards(self, family: int, ip: str) -> str:
        cached = self._cache.get(ip)
        if cached is None:
            try:
                with socket.socket(family, socket.SOCK_DGRAM) as probe:
                    probe.connect((ip, 9))
                    cached = str(probe.getsockname()[0])
            except OSError as exc:
                raise ProbeFailure(FailureReason.NETWORK, f"no route to {ip}: {exc}") from exc
            if len(self._cache) >= self._limit:
                self._cache.clear()
            self._cache[ip] = cached
        return cached
