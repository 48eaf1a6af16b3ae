"""`daemon.dns`: nameservers with ports, rejected when they cannot work."""

from __future__ import annotations

import re

import pytest

from monitord.config import parse_config
from monitord.core.runner import ProbeContext, dns_resolver
from monitord.errors import ConfigError


def test_defaults_are_the_system_resolver() -> None:
    cfg = parse_config("checks: []\n")
    assert cfg.daemon.dns.nameservers == [] and cfg.daemon.dns.timeout == 2.0
    assert dns_resolver(cfg.daemon.dns).where == "system resolver"


def test_nameservers_take_ports_and_ipv6() -> None:
    cfg = parse_config(
        "daemon:\n  dns:\n    nameservers: ['127.0.0.1:5353', '192.0.2.53', '[::1]:5300',"
        " '2001:db8::53']\n    timeout: 500ms\n")
    assert cfg.daemon.dns.addresses == [("127.0.0.1", 5353), ("192.0.2.53", 53), ("::1", 5300),
                                        ("2001:db8::53", 53)]
    assert cfg.daemon.dns.timeout == 0.5
    assert dns_resolver(cfg.daemon.dns).where.startswith("127.0.0.1:5353, 192.0.2.53:53")


@pytest.mark.parametrize(
    ("dns", "message"),
    [
        ("nameservers: ['ns1.example.net']", "invalid nameserver 'ns1.example.net'"),
        ("nameservers: ['127.0.0.1:0']", "invalid port 0 in nameserver '127.0.0.1:0'"),
        ("timeout: 0s", "duration must be positive"),
        ("servers: []", "servers"),
    ],
)
def test_bad_dns_config_is_rejected(dns: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(f"daemon:\n  dns: {{{dns}}}\n")


async def test_probe_context_has_a_resolver() -> None:
    from probes.sip.transport import SipTransports

    assert ProbeContext(sip=SipTransports()).dns.where == "system resolver"
