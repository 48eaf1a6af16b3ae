"""The maximum search both sides of the bench's ratio share (bench/options_throughput.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))

from options_throughput import search_max


@given(threshold=st.floats(100, 150_000), start=st.floats(1_000, 20_000),
       factor=st.floats(1.05, 2.0))
def test_the_search_lands_within_a_quarter_step_below_what_holds(
    threshold: float, start: float, factor: float
) -> None:
    tried: list[float] = []

    def attempt(rate: float) -> bool:
        tried.append(rate)
        return rate <= threshold

    search_max(attempt, start, factor, limit=200_000)
    held = [rate for rate in tried if rate <= threshold]
    if threshold < start / factor**8:
        assert not held  # bounded: eight steps down, then it gives up
        return
    assert held
    if threshold * factor <= 200_000:  # near the limit, the step past it is never tried
        assert max(held) >= threshold / factor**0.25 * (1 - 1e-9)
    assert len(tried) <= 2 + 8 + 2 + 200  # bounded


def test_it_stops_at_the_limit() -> None:
    tried: list[float] = []

    def attempt(rate: float) -> bool:
        tried.append(rate)
        return True

    search_max(attempt, 1000, 2.0, limit=10_000)
    assert max(tried) <= 10_000
