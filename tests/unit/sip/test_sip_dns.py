"""RFC 3263 selection and RFC 2782 ordering against a dict of records: no sockets."""

from __future__ import annotations

import random
import socket
from collections import Counter

import pytest

from probes.errors import DnsQueryError
from probes.sip.dns import (
    DnsResolver,
    Naptr,
    Srv,
    TtlCache,
    locate,
    naptr_choices,
    order_srv,
)
from probes.sip.uri import SipUri


class FakeDns:
    """A zone as dicts; records every query so the tests can assert what was asked."""

    def __init__(
        self,
        naptr: dict[str, list[Naptr]] | None = None,
        srv: dict[str, list[Srv]] | None = None,
        a: dict[str, list[str]] | None = None,
        fail: str | None = None,
    ) -> None:
        self.naptr_records = naptr or {}
        self.srv_records = srv or {}
        self.a_records = a or {}
        self.fail = fail
        self.queries: list[str] = []

    def _ask(self, what: str) -> None:
        self.queries.append(what)
        if what == self.fail:
            raise DnsQueryError(f"DNS timeout: {what}")

    async def naptr(self, name: str) -> list[Naptr]:
        self._ask(f"NAPTR {name}")
        return self.naptr_records.get(name, [])

    async def srv(self, name: str) -> list[Srv]:
        self._ask(f"SRV {name}")
        return self.srv_records.get(name, [])

    async def addresses(self, name: str) -> list[tuple[int, str]]:
        self._ask(f"A {name}")
        return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, ip)
                for ip in self.a_records.get(name, [])]


ZONE = FakeDns(
    naptr={"example.net": [
        Naptr(50, 50, "s", "SIPS+D2T", "_sips._tcp.example.net."),
        Naptr(10, 90, "s", "SIP+D2T", "_sip._tcp.example.net."),
        Naptr(10, 50, "S", "SIP+D2U", "_sip._udp.example.net."),
        Naptr(5, 1, "u", "SIP+D2U", "!^.*$!sip:x@y!"),  # not terminal-s: ignored
        Naptr(1, 1, "s", "SIP+D2S", "_sip._sctp.example.net."),  # SCTP: not ours
    ]},
    srv={
        "_sip._udp.example.net": [Srv(20, 0, 5062, "sbc2.example.net."),
                                  Srv(10, 0, 5060, "sbc1.example.net.")],
        "_sip._tcp.example.net": [Srv(10, 0, 5070, "sbc1.example.net.")],
        "_sips._tcp.example.net": [Srv(10, 0, 5061, "sbc1.example.net.")],
    },
    a={"sbc1.example.net": ["192.0.2.1"], "sbc2.example.net": ["192.0.2.2", "2001:db8::2"],
       "example.net": ["192.0.2.9"]},
)


def fresh(zone: FakeDns = ZONE) -> FakeDns:
    return FakeDns(zone.naptr_records, zone.srv_records, zone.a_records, zone.fail)


async def test_naptr_then_srv_priority_then_addresses() -> None:
    zone = fresh()
    res = await locate(SipUri.parse("sip:example.net"), zone, random.Random(1))
    assert [str(t) for t in res.targets] == [
        "192.0.2.1:5060/udp", "192.0.2.2:5062/udp", "[2001:db8::2]:5062/udp",  # NAPTR 10/50
        "192.0.2.1:5070/tcp",  # NAPTR 10/90
        "192.0.2.1:5061/tls",  # NAPTR 50/50
    ]
    assert res.targets[0].how == "_sip._udp.example.net SRV 10/0 -> sbc1.example.net"
    assert zone.queries[:3] == ["NAPTR example.net", "SRV _sip._udp.example.net",
                                "A sbc1.example.net"]


async def test_sips_uri_keeps_only_sips_naptr() -> None:
    res = await locate(SipUri.parse("sips:example.net"), fresh(), random.Random(1))
    assert [str(t) for t in res.targets] == ["192.0.2.1:5061/tls"]


def test_naptr_choices_sort_and_filter() -> None:
    records = ZONE.naptr_records["example.net"]
    assert naptr_choices(records, "sip") == [
        ("udp", "_sip._udp.example.net"), ("tcp", "_sip._tcp.example.net"),
        ("tls", "_sips._tcp.example.net")]
    assert naptr_choices(records, "sips") == [("tls", "_sips._tcp.example.net")]
    assert naptr_choices([], "sip") == []


async def test_explicit_port_is_a_lookup_only() -> None:
    zone = fresh()
    res = await locate(SipUri.parse("sip:example.net:5099;transport=tcp"), zone, random.Random())
    assert [str(t) for t in res.targets] == ["192.0.2.9:5099/tcp"]
    assert zone.queries == ["A example.net"]


async def test_explicit_transport_skips_naptr() -> None:
    zone = fresh()
    res = await locate(SipUri.parse("sip:example.net;transport=tcp"), zone, random.Random())
    assert [str(t) for t in res.targets] == ["192.0.2.1:5070/tcp"]
    assert zone.queries[0] == "SRV _sip._tcp.example.net"


async def test_no_naptr_queries_srv_for_each_transport() -> None:
    zone = FakeDns(srv={"_sip._tcp.plain.net": [Srv(1, 0, 5080, "pbx.plain.net")]},
                   a={"pbx.plain.net": ["192.0.2.5"]})
    res = await locate(SipUri.parse("sip:plain.net"), zone, random.Random())
    assert [str(t) for t in res.targets] == ["192.0.2.5:5080/tcp"]
    assert zone.queries == ["NAPTR plain.net", "SRV _sip._udp.plain.net",
                            "SRV _sip._tcp.plain.net", "A pbx.plain.net",
                            "SRV _sips._tcp.plain.net"]


async def test_no_srv_falls_back_to_a_on_default_port() -> None:
    zone = FakeDns(a={"pbx.net": ["192.0.2.7"]})
    res = await locate(SipUri.parse("sips:pbx.net"), zone, random.Random())
    assert [str(t) for t in res.targets] == ["192.0.2.7:5061/tls"]


async def test_nothing_found_names_every_query() -> None:
    res = await locate(SipUri.parse("sip:ghost.test"), FakeDns(), random.Random())
    assert res.targets == ()
    assert res.describe_empty("ghost.test") == (
        "no SIP server found for ghost.test (NAPTR ghost.test: none; SRV _sip._udp.ghost.test:"
        " none; SRV _sip._tcp.ghost.test: none; SRV _sips._tcp.ghost.test: none;"
        " A/AAAA ghost.test: none)")


async def test_ip_literal_needs_no_dns() -> None:
    zone = fresh()
    res = await locate(SipUri.parse("sip:[2001:db8::1]"), zone, random.Random())
    assert [str(t) for t in res.targets] == ["[2001:db8::1]:5060/udp"]
    assert zone.queries == []


async def test_query_errors_propagate() -> None:
    zone = FakeDns(fail="NAPTR example.net")
    with pytest.raises(DnsQueryError, match=r"DNS timeout: NAPTR example\.net"):
        await locate(SipUri.parse("sip:example.net"), zone, random.Random())


def test_srv_priority_first_and_dot_dropped() -> None:
    records = [Srv(20, 5, 1, "b"), Srv(10, 0, 2, "a"), Srv(5, 9, 3, ".")]
    assert [r.target for r in order_srv(records, random.Random(0))] == ["a", "b"]


def test_srv_weights_share_first_place_by_weight() -> None:
    """RFC 2782: weight 30 vs 10 in one priority -> first about 75 % of the time."""
    records = [Srv(10, 10, 1, "light"), Srv(10, 30, 1, "heavy"), Srv(20, 100, 1, "backup")]
    rng = random.Random(42)
    firsts = Counter(order_srv(records, rng)[0].target for _ in range(4000))
    assert set(firsts) == {"light", "heavy"}
    assert 0.70 < firsts["heavy"] / 4000 < 0.80
    assert all(order_srv(records, rng)[-1].target == "backup" for _ in range(50))


def test_srv_order_is_reproducible_with_a_seed() -> None:
    records = [Srv(10, w, 1, f"t{w}") for w in (1, 2, 3, 4, 5)]
    first = order_srv(records, random.Random(7))
    assert order_srv(records, random.Random(7)) == first
    assert sorted(first, key=lambda r: r.weight) == sorted(records, key=lambda r: r.weight)


def test_ttl_cache_expires_on_the_clock() -> None:
    now = [100.0]
    cache = TtlCache(lambda: now[0], size=2)
    cache.put("a", 1, 30)
    cache.put("zero", 2, 0)  # TTL 0: never cached
    assert cache.get("a") == 1 and cache.get("zero") is None
    now[0] = 129.9
    assert cache.get("a") == 1
    now[0] = 130.0
    assert cache.get("a") is None
    for key in ("x", "y", "z"):  # bounded: the oldest entry goes
        cache.put(key, key, 60)
    assert cache.get("x") is None and cache.get("z") == "z"


def test_resolver_takes_nameservers_with_ports() -> None:
    r = DnsResolver([("127.0.0.1", 5353)], timeout=1.0)
    assert r.where == "127.0.0.1:5353"
