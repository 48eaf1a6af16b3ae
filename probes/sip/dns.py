"""RFC 3263 server location: how a phone turns `sip:example.net` into an SBC address.

Hosted platforms publish NAPTR and SRV records so that phones pick a
transport, prefer one SBC and fail over to the next. A monitor that only
does A/AAAA on the host name probes an address no phone uses, so this module
follows the phones' path:

- explicit port: A/AAAA of the host only (§4.2), transport from the URI;
- no port, explicit `transport=`: SRV for that transport only (§4.2; "_sips"
  for SIPS URIs);
- no port, no transport parameter: NAPTR (§4.1), keeping SIP+D2U, SIP+D2T and
  SIPS+D2T (a SIPS URI keeps SIPS+D2T only), sorted by order then preference;
  without usable NAPTR records, SRV for every transport we support;
- SRV targets are ordered by priority, then by weighted random within a
  priority (RFC 2782), with a seedable `random.Random` so tests are exact;
- no SRV records at all: A/AAAA of the host on the transport's default port.

The algorithm (`locate`) reaches the network only through a `RecordSource`,
so the selection and ordering rules are unit-tested with a dict of records.
`DnsResolver` is the thin source over dnspython's async resolver, with a
TTL-respecting cache and configurable nameservers (tests point it at a local
dnsmasq). With no nameservers configured it reads /etc/resolv.conf, and
addresses come from the system resolver (getaddrinfo), so /etc/hosts and
nsswitch work as they do for the operator's other tools.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import socket
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Protocol

import dns.asyncresolver
import dns.exception
import dns.message
import dns.nameserver
import dns.rdatatype
import dns.resolver
from dns.rdtypes.IN.A import A
from dns.rdtypes.IN.AAAA import AAAA
from dns.rdtypes.IN.NAPTR import NAPTR
from dns.rdtypes.IN.SRV import SRV

from ..errors import DnsQueryError, InvalidValue
from .resolution import ip_literal
from .uri import SipUri, Transport

__all__ = [
    "DnsResolver",
    "Locator",
    "Naptr",
    "RecordSource",
    "Resolution",
    "ResolvedTarget",
    "Srv",
    "TtlCache",
    "literal_resolution",
    "locate",
    "naptr_choices",
    "order_srv",
]

# RFC 3263 §4.1 service fields we can speak, and the transport each means.
NAPTR_SERVICES: dict[str, Transport] = {"SIP+D2U": "udp", "SIP+D2T": "tcp", "SIPS+D2T": "tls"}
SRV_PREFIX: dict[Transport, str] = {"udp": "_sip._udp", "tcp": "_sip._tcp", "tls": "_sips._tcp"}
DEFAULT_PORT: dict[Transport, int] = {"udp": 5060, "tcp": 5060, "tls": 5061}
# Bounds: a zone with hundreds of records must not turn one probe into hundreds of queries.
MAX_NAPTR = 4
MAX_SRV = 8
MAX_TARGETS = 16
# Cached answers live at most this long whatever their TTL; negative ones shorter,
# so a record added to fix an outage is seen within a minute.
MAX_CACHE_TTL = 3600.0
MAX_NEGATIVE_TTL = 60.0
CACHE_ENTRIES = 4096


@dataclass(frozen=True, slots=True)
class Naptr:
    order: int
    preference: int
    flags: str
    service: str
    replacement: str


@dataclass(frozen=True, slots=True)
class Srv:
    priority: int
    weight: int
    port: int
    target: str


@dataclass(frozen=True, slots=True)
class ResolvedTarget:
    """One address to try, with how it was found (evidence for a downtime)."""

    transport: Transport
    ip: str
    port: int
    family: int
    how: str = ""  # e.g. "_sip._udp.example.net SRV 10 -> sbc1.example.net"

    def __post_init__(self) -> None:
        ipaddress.ip_address(self.ip)  # an address, never a name
        if not 1 <= self.port <= 65535:
            raise InvalidValue(f"port must be 1..65535, got {self.port}")

    def __str__(self) -> str:
        host = f"[{self.ip}]" if ":" in self.ip else self.ip
        return f"{host}:{self.port}/{self.transport}"


@dataclass(frozen=True, slots=True)
class Resolution:
    targets: tuple[ResolvedTarget, ...]
    queried: tuple[str, ...]  # "NAPTR example.net: none", ... for the failure detail

    def describe_empty(self, host: str) -> str:
        return f"no SIP server found for {host} ({'; '.join(self.queried)})"


class Locator(Protocol):
    """What a probe needs from DNS: every address for a URI, preferred first."""

    async def resolve(self, uri: SipUri) -> Resolution: ...


class RecordSource(Protocol):
    """Where `locate` gets records; names are absolute without the trailing dot."""

    async def naptr(self, name: str) -> list[Naptr]: ...

    async def srv(self, name: str) -> list[Srv]: ...

    async def addresses(self, name: str) -> list[tuple[int, str]]: ...


# -- the pure part: selection and ordering ------------------------------------------


def naptr_choices(records: Sequence[Naptr], scheme: str) -> list[tuple[Transport, str]]:
    """(transport, SRV name) in the order to try them (RFC 3263 §4.1).

    Only terminal "s" records with a service we speak count; "a SIPS URI MUST
    discard any services that do not contain SIPS", and a SIP URI keeps SIPS
    ones ("if the client supports TLS", which we do). Sorted by order, then
    preference (RFC 3403 §4.1).
    """
    usable = [r for r in records if r.flags.lower() == "s" and r.service.upper() in NAPTR_SERVICES
              and (scheme != "sips" or r.service.upper() == "SIPS+D2T")]
    usable.sort(key=lambda r: (r.order, r.preference))
    out: list[tuple[Transport, str]] = []
    for r in usable:
        choice = (NAPTR_SERVICES[r.service.upper()], r.replacement.rstrip(".").lower())
        if choice not in out and choice[1]:
            out.append(choice)
    return out[:MAX_NAPTR]


def order_srv(records: Sequence[Srv], rng: random.Random) -> list[Srv]:
    """RFC 2782 order: lowest priority first; within a priority, weighted random.

    The RFC's procedure: put weight-0 records first, sum the weights, pick a
    uniform number in [0, sum], take the first record whose running sum is at
    least that number, remove it and repeat. A target of "." means "decidedly
    not available" and is dropped.
    """
    live = [r for r in records if r.target.rstrip(".")]
    out: list[Srv] = []
    for priority in sorted({r.priority for r in live}):
        group = sorted((r for r in live if r.priority == priority), key=lambda r: r.weight != 0)
        while group:  # shrinks by one each round
            total = sum(r.weight for r in group)
            pick = rng.randint(0, total)
            running = 0
            for i, r in enumerate(group):
                running += r.weight
                if running >= pick:
                    out.append(group.pop(i))
                    break
    return out


def literal_resolution(uri: SipUri) -> Resolution | None:
    """The one target of a URI whose host is an IP literal (RFC 3263 §4.2: no DNS)."""
    literal = ip_literal(uri.host)
    if literal is None:
        return None
    return Resolution((ResolvedTarget(uri.transport, literal[1], uri.effective_port,
                                      literal[0], "IP literal"),), ())


async def locate(uri: SipUri, source: RecordSource, rng: random.Random) -> Resolution:
    """Every address to try for `uri`, most preferred first (RFC 3263 §4).

    Empty targets means DNS had no answer; `DnsQueryError` means it failed.
    """
    host = uri.host.rstrip(".").lower()
    literal = literal_resolution(uri)
    if literal is not None:
        return literal
    queried: list[str] = []
    targets: list[ResolvedTarget] = []

    async def add_addresses(name: str, transport: Transport, port: int, how: str) -> None:
        found = await source.addresses(name)
        queried.append(f"A/AAAA {name}: {len(found) or 'none'}")
        for family, ip in found:
            t = ResolvedTarget(transport, ip, port, family, how)
            if len(targets) < MAX_TARGETS and not any(
                    (o.ip, o.port, o.transport) == (ip, port, transport) for o in targets):
                targets.append(t)

    if uri.port is not None:  # §4.2: an explicit port means A/AAAA only
        await add_addresses(host, uri.transport, uri.port, f"{host} A/AAAA")
        return Resolution(tuple(targets), tuple(queried))
    # §4.2: without SRV records, A/AAAA of the domain on the transport NAPTR chose
    # (else the URI's) and that transport's default port.
    fallback: Transport = uri.transport
    if uri.param("transport") is None:
        naptrs = await source.naptr(host)
        choices = naptr_choices(naptrs, uri.scheme)
        queried.append(f"NAPTR {host}: {len(naptrs) or 'none'}"
                       + (f" ({len(choices)} usable)" if naptrs else ""))
        if choices:
            fallback = choices[0][0]
        else:  # §4.1: no NAPTR records -> SRV for each transport we support
            kinds: tuple[Transport, ...] = ("tls",) if uri.scheme == "sips" else ("udp", "tcp", "tls")
            choices = [(t, f"{SRV_PREFIX[t]}.{host}") for t in kinds]
    else:  # §4.2: transport given -> SRV for that transport only
        choices = [(uri.transport, f"{SRV_PREFIX[uri.transport]}.{host}")]
    any_srv = False
    for transport, name in choices:
        srvs = order_srv((await source.srv(name))[:MAX_SRV], rng)
        queried.append(f"SRV {name}: {len(srvs) or 'none'}")
        any_srv = any_srv or bool(srvs)
        for srv in srvs:
            if len(targets) >= MAX_TARGETS:
                break
            target = srv.target.rstrip(".").lower()
            await add_addresses(target, transport, srv.port,
                                f"{name} SRV {srv.priority}/{srv.weight} -> {target}")
    if not any_srv:
        await add_addresses(host, fallback, DEFAULT_PORT[fallback], f"{host} A/AAAA")
    return Resolution(tuple(targets), tuple(queried))


class TtlCache:
    """Answers by key until their TTL passes, on an injectable clock; bounded in size."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, size: int = CACHE_ENTRIES) -> None:
        self._clock = clock
        self._size = size
        self._entries: dict[Hashable, tuple[float, object]] = {}

    def get(self, key: Hashable) -> object | None:
        hit = self._entries.get(key)
        if hit is None:
            return None
        if hit[0] <= self._clock():
            del self._entries[key]
            return None
        return hit[1]

    def put(self, key: Hashable, value: object, ttl: float) -> None:
        if ttl <= 0:
            return  # TTL 0: "not to be cached" (RFC 1035 §3.2.1)
        if len(self._entries) >= self._size:
            now = self._clock()
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            while len(self._entries) >= self._size:  # still full: drop the oldest inserted
                del self._entries[next(iter(self._entries))]
        self._entries[key] = (self._clock() + ttl, value)


# -- the thin part: dnspython -------------------------------------------------------


class DnsResolver:
    """A `RecordSource` over dnspython's async resolver, cached by TTL.

    `nameservers` are (ip, port) pairs; empty means the system configuration.
    Shared by every SIP check in the daemon (the cache is the point).
    """

    def __init__(
        self,
        nameservers: Sequence[tuple[str, int]] = (),
        *,
        timeout: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.nameservers = tuple(nameservers)
        self.rng = rng or random.Random()
        self._cache = TtlCache(clock)
        if self.nameservers:
            self._resolver = dns.asyncresolver.Resolver(configure=False)
            self._resolver.nameservers = [dns.nameserver.Do53Nameserver(ip, port)
                                          for ip, port in self.nameservers]
        else:
            try:
                self._resolver = dns.asyncresolver.Resolver()
            except dns.resolver.NoResolverConfiguration:
                self._resolver = dns.asyncresolver.Resolver(configure=False)
        self._resolver.timeout = timeout
        self._resolver.lifetime = timeout

    @property
    def where(self) -> str:
        return ", ".join(f"{ip}:{port}" for ip, port in self.nameservers) or "system resolver"

    async def resolve(self, uri: SipUri) -> Resolution:
        return await locate(uri, self, self.rng)

    async def naptr(self, name: str) -> list[Naptr]:
        return [Naptr(int(r.order), int(r.preference), r.flags.decode("ascii", "replace"),
                      r.service.decode("ascii", "replace"), r.replacement.to_text(True))
                for r in await self._query(name, "NAPTR") if isinstance(r, NAPTR)]

    async def srv(self, name: str) -> list[Srv]:
        return [Srv(int(r.priority), int(r.weight), int(r.port), r.target.to_text(True))
                for r in await self._query(name, "SRV") if isinstance(r, SRV)]

    async def addresses(self, name: str) -> list[tuple[int, str]]:
        """IPv4 first: the daemon's IPv4 SIP socket always exists, its IPv6 one may not."""
        if not self.nameservers:
            return await self._system_addresses(name)
        v4 = [(int(socket.AF_INET), str(r.address)) for r in await self._query(name, "A")
              if isinstance(r, A)]
        v6 = [(int(socket.AF_INET6), str(r.address)) for r in await self._query(name, "AAAA")
              if isinstance(r, AAAA)]
        return v4 + v6

    async def _system_addresses(self, name: str) -> list[tuple[int, str]]:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(name, None, type=socket.SOCK_DGRAM)
        except socket.gaierror as exc:
            if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
                return []
            raise DnsQueryError(f"cannot resolve {name!r}: {exc}") from exc
        except UnicodeError as exc:
            raise DnsQueryError(f"cannot resolve {name!r}: {exc}") from exc
        out: list[tuple[int, str]] = []
        for family, *_, sockaddr in sorted(infos, key=lambda i: i[0] != socket.AF_INET):
            item = (int(family), str(sockaddr[0]))
            if item not in out:
                out.append(item)
        return out

    async def _query(self, name: str, rdtype: str) -> list[dns.rdata.Rdata]:
        key = (rdtype, name.lower())
        cached = self._cache.get(key)
        if cached is not None:
            assert isinstance(cached, list)
            return cached
        what = f"{rdtype} {name} at {self.where}"
        try:
            answer = await self._resolver.resolve(name + ".", rdtype, search=False,
                                                  raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN as exc:
            responses = exc.kwargs.get("responses") or {}
            self._cache.put(key, [], _negative_ttl(next(iter(responses.values()), None)))
            return []
        except dns.exception.Timeout as exc:
            raise DnsQueryError(f"DNS timeout: {what}", timed_out=True) from exc
        except dns.resolver.NoNameservers as exc:
            raise DnsQueryError(f"no nameserver answered {what}: {exc}") from exc
        except dns.exception.DNSException as exc:
            raise DnsQueryError(f"DNS query failed: {what}: {exc}") from exc
        if answer.rrset is None:
            records: list[dns.rdata.Rdata] = []
            ttl = min(float(answer.chaining_result.minimum_ttl), MAX_NEGATIVE_TTL)
        else:
            records = list(answer.rrset)
            ttl = min(float(answer.rrset.ttl), MAX_CACHE_TTL)
        self._cache.put(key, records, ttl)
        return records


def _negative_ttl(response: dns.message.Message | None) -> float:
    """RFC 2308 §5: a negative answer lives min(SOA TTL, SOA minimum); 0 without a SOA."""
    if response is None:
        return 0.0
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.SOA:
            return min(float(rrset.ttl), float(rrset[0].minimum), MAX_NEGATIVE_TTL)
    return 0.0
