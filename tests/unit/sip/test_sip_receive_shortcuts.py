"""Shortcuts on the path of a received answer build exactly what the plain code builds."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probes.sip import resolution
from probes.sip.message import parse_message
from probes.sip.resolution import canonical, canonical_source
from probes.sip.transport import _OUTCOME_SLOTS, Outcome, _answered_outcome

RESPONSE = (
    b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;rport=5070;branch=z9hG4bKabc\r\n"
    b"From: <sip:monitord@127.0.0.1:5070>;tag=1\r\nTo: <sip:127.0.0.1>;tag=2\r\n"
    b"Call-ID: abc\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
)


@pytest.mark.parametrize("tls_not_after", [None, 1.8e9])
@pytest.mark.parametrize("provisional", [0, 2])
def test_an_answered_outcome_is_the_one_the_dataclass_builds(
        tls_not_after: float | None, provisional: int) -> None:
    response = parse_message(RESPONSE)
    early = tuple(parse_message(RESPONSE.replace(b"200 OK", b"100 Trying"))
                  for _ in range(provisional))
    fast = _answered_outcome(response, 3, 0.25, early, tls_not_after, 10.0, 10.25)
    plain = Outcome(response, None, "", 3, 0.25, early, tls_not_after, sent_at=10.0,
                    arrival=10.25)
    assert tuple(f.name for f in dataclasses.fields(Outcome)) == _OUTCOME_SLOTS
    assert [getattr(fast, name) for name in _OUTCOME_SLOTS] == [
        getattr(plain, name) for name in _OUTCOME_SLOTS]
    assert fast == plain and repr(fast) == repr(plain) and type(fast) is Outcome
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.detail = "changed"  # type: ignore[misc]


_IPS = st.sampled_from(["127.0.0.1", "192.0.2.7", "::1", "0:0::1", "2001:db8::1", "::ffff:1.2.3.4",
                        "fe80::1%lo"])


@given(_IPS, st.integers(0, 65535), st.sampled_from([(), (0, 0), (0, 2)]))
def test_a_source_is_canonical_whether_seen_before_or_not(ip: str, port: int,
                                                          rest: tuple[int, ...]) -> None:
    addr = (ip, port, *rest)
    try:
        expected = canonical(addr)
    except ValueError:
        with pytest.raises(ValueError):
            canonical_source(addr)
        return
    assert canonical_source(addr) == expected
    assert canonical_source(addr) == expected  # from the cache


def test_the_source_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resolution, "_sources", {})
    for port in range(resolution._SOURCES_LIMIT + 10):
        assert canonical_source(("10.0.0.1", port)) == ("10.0.0.1", port)
    assert len(resolution._sources) <= resolution._SOURCES_LIMIT
