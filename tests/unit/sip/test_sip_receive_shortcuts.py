"""Shortcuts on the path of a received answer build exactly what the plain code builds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probes.sip import resolution
from probes.sip.resolution import canonical, canonical_source

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
        assert canonical_source(("192.0.2.10", port)) == ("192.0.2.10", port)
    assert len(resolution._sources) <= resolution._SOURCES_LIMIT
