"""SIP URI parsing: configuration mistakes must come back as clear errors."""

from __future__ import annotations

import pytest

from probes.errors import SipUriError
from probes.sip.uri import SipUri


@pytest.mark.parametrize(
    ("text", "expected", "transport", "port"),
    [
        ("sip:pbx.example.com", SipUri("sip", None, "pbx.example.com"), "udp", 5060),
        ("sips:alice@example.com", SipUri("sips", "alice", "example.com"), "tls", 5061),
        ("sip:127.0.0.1:5080", SipUri("sip", None, "127.0.0.1", 5080), "udp", 5080),
        ("SIP:ping@[::1]:5062;transport=TCP",
         SipUri("sip", "ping", "::1", 5062, (("transport", "TCP"),)), "tcp", 5062),
        ("sip:h;transport=tls;lr", SipUri("sip", None, "h", None, (("transport", "tls"), ("lr", None))),
         "tls", 5061),
        ("sip:+4930123;user=phone@gw.example", SipUri("sip", "+4930123;user=phone", "gw.example"),
         "udp", 5060),
    ],
)
def test_valid(text: str, expected: SipUri, transport: str, port: int) -> None:
    uri = SipUri.parse(text)
    assert uri == expected
    assert uri.transport == transport
    assert uri.effective_port == port
    assert SipUri.parse(str(uri)) == uri


def test_str_brackets_ipv6() -> None:
    assert str(SipUri.parse("sip:u@[2001:db8::1]:5060;lr")) == "sip:u@[2001:db8::1]:5060;lr"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("http://example.com", "must start with 'sip:' or 'sips:'"),
        ("sip:", "empty or contains whitespace"),
        ("sip:a b", "empty or contains whitespace"),
        ("sip:example.com:0", "port must be 1..65535, got '0'"),
        ("sip:example.com:65536", "port must be 1..65535, got '65536'"),
        ("sip:example.com:x1", "port must be 1..65535"),
        ("sip:[::1", "unterminated IPv6"),
        ("sip:[::g]", "invalid IPv6 address '::g'"),
        ("sip:::1", "missing host"),
        ("sip:fe80::1", "IPv6 hosts must be in brackets"),
        ("sip:300.1.1.1", "invalid IPv4 address '300.1.1.1'"),
        ("sip:exa_mple.com", "invalid host 'exa_mple.com'"),
        ("sip:@host", "invalid user part ''"),
        ("sip:a@b@c", "more than one '@'"),
        ("sip:host?subject=x", "headers"),
        ("sip:host;transport=sctp", "unsupported transport 'sctp'"),
        ("sip:host;=x", "invalid URI parameter '=x'"),
    ],
)
def test_invalid_names_the_problem(text: str, problem: str) -> None:
    with pytest.raises(SipUriError) as info:
        SipUri.parse(text)
    assert problem in str(info.value)
    assert isinstance(info.value, ValueError)
