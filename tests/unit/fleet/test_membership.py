"""Membership by heartbeat rows: fed rows and a clock, asserted after every step."""

from __future__ import annotations

import pytest

from monitord.fleet.membership import MemberRow, Membership

LEASE = 3.0


def rows(**beats: int) -> list[MemberRow]:
    return [MemberRow(agent, beat) for agent, beat in beats.items()]


def test_a_peer_is_live_while_its_beat_moves_and_dead_after_a_still_lease() -> None:
    m = Membership("a", LEASE)
    m.observed(0.0, rows(a=1, b=1, c=1))
    assert m.live(0.0) == {"a", "b", "c"}
    m.observed(1.0, rows(a=2, b=2, c=1))
    m.observed(2.0, rows(a=3, b=3, c=1))
    assert m.live(2.9) == {"a", "b", "c"}  # c's beat 1 first seen at 0.0
    assert m.live(3.0) == {"a", "b"}
    assert m.dead(3.0) == {"c"}
    m.observed(3.5, rows(a=4, b=4, c=2))  # c was only slow: back at once
    assert m.live(3.5) == {"a", "b", "c"}


def test_a_clean_stop_is_gone_at_once() -> None:
    m = Membership("a", LEASE)
    m.observed(0.0, rows(a=1, b=1))
    m.observed(0.5, [MemberRow("a", 2), MemberRow("b", 2, left=True)])
    assert m.live(0.5) == {"a"}
    assert m.dead(0.5) == frozenset()  # departed, not dead: its units were released


def test_silence_is_not_counted_while_we_cannot_read() -> None:
    m = Membership("a", LEASE)
    m.observed(0.0, rows(b=1))
    m.unreachable(1.0)
    assert m.blind
    assert m.live(60.0) == {"a", "b"}  # blind: nobody is declared dead meanwhile
    m.observed(61.0, rows(b=1))  # the database is back; b has not beaten yet
    assert not m.blind
    assert m.live(63.9) == {"a", "b"}  # a fresh lease from when we saw it again
    assert m.live(64.0) == {"a"}


def test_a_row_that_disappears_is_gone_and_a_new_one_is_live() -> None:
    m = Membership(None, LEASE)  # the judge: no self
    m.observed(0.0, rows(b=1))
    m.observed(1.0, rows(c=7))
    assert m.live(1.0) == {"c"}


def test_own_lease() -> None:
    m = Membership("a", LEASE)
    assert not m.holds_lease(0.0)
    m.renewed(1.0)
    assert m.holds_lease(3.9)
    assert not m.holds_lease(4.0)


def test_lease_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Membership("a", 0.0)
    with pytest.raises(ValueError, match="positive"):
        Membership("a", float("nan"))
