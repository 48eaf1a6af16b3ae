"""Retry delays: exponential, capped, jitter only shortens them."""

from __future__ import annotations

import pytest

from monitord.sinks.backoff import Backoff


def test_delays_double_up_to_the_cap_and_reset_after_success() -> None:
    b = Backoff(0.5, 4.0, jitter=0.0)
    assert [b.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert b.attempts == 6
    b.reset()
    assert b.next_delay() == 0.5


def test_jitter_shortens_within_its_fraction() -> None:
    b = Backoff(1.0, 8.0, jitter=0.25, rand=lambda: 1.0)
    assert b.next_delay() == pytest.approx(0.75)
    assert b.next_delay() == pytest.approx(1.5)


def test_a_thousand_failures_stay_at_the_cap() -> None:
    b = Backoff(0.5, 30.0, jitter=0.0)
    assert max(b.next_delay() for _ in range(1000)) == 30.0


@pytest.mark.parametrize("args", [(0.0, 1.0), (2.0, 1.0), (-1.0, 1.0)])
def test_nonsense_is_refused(args: tuple[float, float]) -> None:
    with pytest.raises(ValueError, match="initial"):
        Backoff(*args)
