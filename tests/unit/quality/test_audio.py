"""The audio check: which signal a frame carries, and gaps counted by position."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probes.quality.audio import AudioCheck, FrameClass, FrameClassifier, Signal
from probes.rtp.g711 import ANSWER_TONES_HZ, FRAME_SAMPLES, Law, decode, encode, reference_signal


@pytest.mark.parametrize("law", list(Law))
def test_both_signals_are_told_apart_also_when_re_encoded(law: Law) -> None:
    caller, answer = FrameClassifier(law), FrameClassifier(law, Signal.ANSWER)
    other = Law.PCMA if law is Law.PCMU else Law.PCMU
    for frame in reference_signal(other).frames:  # transcoded: the bytes differ, the tones not
        recoded = encode(law, decode(other, frame))
        assert caller.classify(recoded) == (FrameClass.OURS, False)
        assert answer.classify(recoded) == (FrameClass.THEIRS, False)
    for frame in reference_signal(other, ANSWER_TONES_HZ).frames:
        assert caller.classify(encode(law, decode(other, frame)))[0] is FrameClass.THEIRS


def test_silence_speech_like_noise_and_clipping() -> None:
    c = FrameClassifier(Law.PCMU)
    assert c.classify(encode(Law.PCMU, [20] * FRAME_SAMPLES))[0] is FrameClass.SILENT
    tone = [round(8000 * math.sin(2 * math.pi * 700 * n / 8000)) for n in range(FRAME_SAMPLES)]
    assert c.classify(encode(Law.PCMU, tone))[0] is FrameClass.OTHER  # audio, neither signal
    loud = [max(-32768, min(32767, 4 * s)) for s in tone]
    assert c.classify(encode(Law.PCMU, loud)) == (FrameClass.OTHER, True)


def test_gaps_are_runs_of_missing_or_silent_between_audible_frames() -> None:
    c = FrameClassifier(Law.PCMU)
    frames = reference_signal(Law.PCMU).frames
    silent = encode(Law.PCMU, [0] * FRAME_SAMPLES)
    check = AudioCheck(c, gap_seconds=0.1)
    for n in range(100):
        if 20 <= n < 24:  # 80 ms missing: loss, not a gap
            continue
        if 40 <= n < 50:  # 200 ms missing
            continue
        check.frame(n, silent if 60 <= n < 66 else frames[n % 50])  # 120 ms silence
    # nothing after 99: a tail would not be a gap
    f = check.figures()
    assert f.positions == 100 and f.missing == 14 and f.silent == 6
    assert f.gaps == 2 and f.longest_gap_seconds == pytest.approx(0.2)
    assert f.gap_seconds == pytest.approx(0.32)
    assert f.signal is Signal.CALLER and f.looped_back
    # BurstR over the missing positions: runs of 4 and 10 at p = 14/100.
    assert f.missing_runs == 2 and f.burst_ratio == pytest.approx(7 * (1 - 0.14))


def test_a_frame_overtaken_before_the_first_arrival_still_counts() -> None:
    check = AudioCheck(FrameClassifier(Law.PCMU))
    frames = reference_signal(Law.PCMU).frames
    check.frame(0, frames[1])
    check.frame(-1, frames[0])
    check.discarded(3)
    assert check.figures().positions == 5 and check.figures().missing == 3  # 1, 2 and 3


@given(st.lists(st.tuples(st.integers(-200, 500), st.binary(min_size=0, max_size=200)),
                max_size=60))
def test_any_frames_give_consistent_figures(frames: list[tuple[int, bytes]]) -> None:
    check = AudioCheck(FrameClassifier(Law.PCMA))
    for position, payload in frames:
        check.frame(position, payload)
    f = check.figures()
    assert f.ours + f.theirs + f.other + f.silent + f.events + f.missing == f.positions
    assert 0 <= f.loss_ratio <= 1 and f.burst_ratio >= 0
    assert f.gap_seconds >= f.longest_gap_seconds >= 0
