"""The jitter buffer model: fixed and adaptive playout, discards as a phone would."""

from __future__ import annotations

import random

import pytest

from probes.errors import InvalidValue
from probes.quality.jitterbuffer import JitterBuffer, JitterBufferKind, JitterBufferSettings

FIXED = JitterBufferSettings(JitterBufferKind.FIXED, nominal=0.040)


def test_fixed_discards_what_arrives_later_than_the_first_transit_plus_depth() -> None:
    jb = JitterBuffer(FIXED)
    transit = [0.030, 0.050, 0.071, 0.069, 0.030, 0.100]
    played = [jb.arrive(i * 0.02, i * 0.02 + t) for i, t in enumerate(transit)]
    assert played == [True, True, False, True, True, False]
    f = jb.figures()
    assert (f.played, f.discarded, f.mean_delay) == (4, 2, 0.040)


def test_adaptive_grows_with_jitter_and_shrinks_without() -> None:
    rng = random.Random(3)
    jb = JitterBuffer()
    for i in range(500):
        jb.arrive(i * 0.02, 5 + i * 0.02 + rng.uniform(0.0, 0.060))
    assert 0.06 < jb.depth <= 0.2
    grown = jb.depth
    for i in range(500, 1000):
        jb.arrive(i * 0.02, 5 + i * 0.02 + 0.001)
    assert jb.depth < grown and jb.depth == pytest.approx(0.020, abs=0.01)


def test_settings_are_checked() -> None:
    with pytest.raises(InvalidValue, match="minimum <= nominal"):
        JitterBufferSettings(JitterBufferKind.ADAPTIVE, nominal=0.5, maximum=0.2)
    with pytest.raises(InvalidValue, match=r"0\.\.2 s"):
        JitterBufferSettings(nominal=-1)
