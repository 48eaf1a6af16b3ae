"""What a received audio stream carries: our test signal, the far end's, silence, gaps.

Why: an RTP stream of silence, or our own packets looped back by a broken
media relay, still counts as "media both ways" by packet counts alone. Each
side of a test call therefore sends a known signal (probes/rtp/g711.py: the
caller's three tones, the answer point's three others) and the receiver
checks every 20 ms frame it plays out:

* OURS / THEIRS: the frame's energy is explained by one of the two tone
  triples (power at the three frequencies, as a share of the frame's power,
  at least `MATCH_SHARE`);
* SILENT: below `SILENCE_DBOV` (a muted path, comfort noise, a relay that
  sends zero payloads);
* OTHER: audio, but neither signal (a real far end's speech, a transcoder
  that mangled the tones beyond recognition);
* EVENT: an RFC 4733 telephone-event packet took the position (not a gap);
* MISSING: never played (lost, or discarded by the jitter buffer model).

Powers come from a DFT at each tone's frequency over the frame (the
Goertzel value computed as two dot products with precomputed tables). That
costs ~12 dot products of 160 samples, so the common case is first looked
up: a frame carrying exactly one of the pre-encoded signal frames (a packet
echo, our answer point) or an all-zero-level payload is classified by its
bytes alone. Only re-encoded audio pays for the arithmetic.

A gap is a run of MISSING or SILENT positions of at least `gap_frames`
between the first and last audible frame (a shorter run is loss that
concealment hides; the loss itself is rated by the E-model). A trailing run
is not a gap: media that stops is judged by the call verdict.

Clipping: a frame with at least `CLIP_SAMPLES` samples at the largest
codeword magnitude, i.e. a gain stage drove the signal into the rails.

Pure and clock-free: frames are fed by position (the extended sequence
number relative to the stream's first), so it is tested on crafted frames.
"""

from __future__ import annotations

import enum
import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from operator import mul

from ..errors import InvalidValue
from ..rtp.g711 import (
    ANSWER_TONES_HZ,
    CALLER_TONES_HZ,
    FRAME_SAMPLES,
    SAMPLE_RATE,
    Law,
    decode_table,
    encode,
    reference_signal,
)

__all__ = [
    "AudioCheck",
    "AudioFigures",
    "FrameClass",
    "FrameClassifier",
    "Signal",
    "classifier",
]

SILENCE_DBOV = -50.0
MATCH_SHARE = 0.6  # of a frame's power explained by one tone triple
CLIP_SAMPLES = 3
_FULL_SCALE = 32768.0
_SILENCE_POWER = (_FULL_SCALE * 10 ** (SILENCE_DBOV / 20)) ** 2
MAX_POSITIONS = 1 << 20  # ~5.8 h of 20 ms frames: more is a misbehaving stream
MAX_REORDER = 100  # positions before the first arrival still counted (RFC 3550 A.1 MAX_MISORDER)


class FrameClass(enum.IntEnum):
    MISSING = 0
    OURS = 1
    THEIRS = 2
    OTHER = 3
    SILENT = 4
    EVENT = 5


class Signal(enum.StrEnum):
    """Whose test signal a stream mostly carried."""

    CALLER = "caller"  # the call probe's tones
    ANSWER = "answer"  # the answer point's tones
    OTHER = "other"  # audio, neither signal
    SILENCE = "silence"  # nothing audible
    NONE = "none"  # no frame at all


def _tables(tones: Iterable[int]) -> list[tuple[tuple[float, ...], tuple[float, ...]]]:
    return [
        (tuple(math.cos(2 * math.pi * f * n / SAMPLE_RATE) for n in range(FRAME_SAMPLES)),
         tuple(math.sin(2 * math.pi * f * n / SAMPLE_RATE) for n in range(FRAME_SAMPLES)))
        for f in tones
    ]


class FrameClassifier:
    """Classifies 20 ms G.711 payloads of one law. `mine` says which signal is ours."""

    __slots__ = ("_clip", "_decode", "_known", "_law", "_mine", "_my_tables", "_their_tables")

    def __init__(self, law: Law, mine: Signal = Signal.CALLER) -> None:
        if mine not in (Signal.CALLER, Signal.ANSWER):
            raise InvalidValue(f"a sender's signal is caller or answer, not {mine}")
        self._law = law
        self._mine = mine
        my_tones, their_tones = ((CALLER_TONES_HZ, ANSWER_TONES_HZ) if mine is Signal.CALLER
                                 else (ANSWER_TONES_HZ, CALLER_TONES_HZ))
        self._decode = decode_table(law)
        self._clip = max(abs(v) for v in self._decode)
        self._my_tables = _tables(my_tones)
        self._their_tables = _tables(their_tones)
        known: dict[bytes, FrameClass] = {}
        for frame in reference_signal(law, my_tones).frames:
            known[frame] = FrameClass.OURS
        for frame in reference_signal(law, their_tones).frames:
            known[frame] = FrameClass.THEIRS
        for zero in (encode(law, [0] * FRAME_SAMPLES),):
            known[zero] = FrameClass.SILENT
        self._known = known

    def classify(self, payload: bytes) -> tuple[FrameClass, bool]:
        """(class, clipped) of one frame's payload."""
        known = self._known.get(payload)
        if known is not None:
            return known, False
        samples = [self._decode[c] for c in payload]
        if not samples:
            return FrameClass.SILENT, False
        n = len(samples)
        power = sum(map(mul, samples, samples)) / n
        clipped = sum(1 for s in samples if s >= self._clip or -s >= self._clip) >= CLIP_SAMPLES
        if power < _SILENCE_POWER:
            return FrameClass.SILENT, clipped
        if n != FRAME_SAMPLES:
            return FrameClass.OTHER, clipped
        if self._share(samples, self._my_tables) / power >= MATCH_SHARE:
            return FrameClass.OURS, clipped
        if self._share(samples, self._their_tables) / power >= MATCH_SHARE:
            return FrameClass.THEIRS, clipped
        return FrameClass.OTHER, clipped

    @staticmethod
    def _share(samples: list[int],
               tables: list[tuple[tuple[float, ...], tuple[float, ...]]]) -> float:
        """Mean power at the tones' frequencies: |X(f)|^2 * 2 / N^2 each (A^2/2 of a tone)."""
        total = 0.0
        for cos, sin in tables:
            re = sum(map(mul, samples, cos))
            im = sum(map(mul, samples, sin))
            total += (re * re + im * im) * 2 / (FRAME_SAMPLES * FRAME_SAMPLES)
        return total

    @property
    def signal_of(self) -> dict[FrameClass, Signal]:
        mine, theirs = ((Signal.CALLER, Signal.ANSWER) if self._mine is Signal.CALLER
                        else (Signal.ANSWER, Signal.CALLER))
        return {FrameClass.OURS: mine, FrameClass.THEIRS: theirs, FrameClass.OTHER: Signal.OTHER}


@functools.lru_cache(maxsize=8)
def classifier(law: Law, mine: Signal = Signal.CALLER) -> FrameClassifier:
    """The classifier for a law and a sender, built once: its tables cost ~1 ms, and a
    burst of 200 calls starting together must not stall everyone's packets for it."""
    return FrameClassifier(law, mine)


@dataclass(frozen=True, slots=True)
class AudioFigures:
    """What one direction's audio carried, per 20 ms position."""

    positions: int  # from the first to the last position received
    ours: int
    theirs: int
    other: int
    silent: int
    events: int
    missing: int
    clipped: int
    gaps: int
    longest_gap_seconds: float
    gap_seconds: float  # all gaps together
    signal: Signal  # the signal most audible frames carried
    missing_runs: int = 0  # runs of consecutive MISSING positions (for BurstR)
    frame_seconds: float = FRAME_SAMPLES / SAMPLE_RATE

    @property
    def loss_ratio(self) -> float:
        """Positions never played (lost or discarded) / positions: the E-model's Ppl."""
        return self.missing / self.positions if self.positions else 0.0

    @property
    def burst_ratio(self) -> float:
        """G.107 BurstR of the never-played positions: the mean observed run length over
        the mean run length random loss at the same rate would give, 1 / (1 - p)."""
        if not self.missing_runs:
            return 1.0
        return (self.missing / self.missing_runs) * (1.0 - self.loss_ratio)

    @property
    def audible(self) -> int:
        return self.ours + self.theirs + self.other

    @property
    def looped_back(self) -> bool:
        """Most audible frames are the receiver's own signal coming back."""
        return self.ours > 0 and self.ours >= self.theirs + self.other


class AudioCheck:
    """Frames of one received stream, by position; `figures()` at the end."""

    __slots__ = ("_base", "_classes", "_classifier", "_clipped", "_frame_seconds", "_gap_frames")

    def __init__(self, classifier: FrameClassifier, *, gap_seconds: float = 0.1,
                 frame_seconds: float = FRAME_SAMPLES / SAMPLE_RATE) -> None:
        if not (gap_seconds > 0 and frame_seconds > 0):
            raise InvalidValue("gap_seconds and frame_seconds must be positive")
        self._classifier = classifier
        self._frame_seconds = frame_seconds
        self._gap_frames = max(1, round(gap_seconds / frame_seconds))
        self._classes = bytearray()
        self._base = 0  # the position classes[0] stands for
        self._clipped = 0

    def frame(self, position: int, payload: bytes) -> FrameClass:
        """A frame played at `position` (0 = the first to arrive; one sent earlier but
        overtaken on the way is negative)."""
        kind, clipped = self._classifier.classify(payload)
        self._put(position, kind)
        self._clipped += clipped
        return kind

    def discarded(self, position: int) -> None:
        """A packet arrived for this position, too late to play: missing, but in the range."""
        self._put(position, FrameClass.MISSING)

    def event(self, position: int) -> None:
        """An RFC 4733 event packet took this position."""
        self._put(position, FrameClass.EVENT)

    def _put(self, position: int, kind: FrameClass) -> None:
        classes = self._classes
        if position < self._base:
            if self._base - position > MAX_REORDER or len(classes) >= MAX_POSITIONS:
                return
            classes[:0] = bytes(self._base - position)
            self._base = position
        index = position - self._base
        if index >= MAX_POSITIONS:
            return
        if index >= len(classes):
            classes.extend(bytes(index + 1 - len(classes)))
        if classes[index] == FrameClass.MISSING:
            classes[index] = kind

    def figures(self) -> AudioFigures:
        classes = self._classes
        counts = [classes.count(k) for k in range(len(FrameClass))]
        audible = [i for i, c in enumerate(classes) if c in (1, 2, 3)]
        gaps, longest, total = 0, 0, 0
        runs = sum(1 for i, c in enumerate(classes)
                   if c == FrameClass.MISSING and (i == 0 or classes[i - 1] != FrameClass.MISSING))
        if audible:
            run = 0
            for c in classes[audible[0]:audible[-1] + 1]:
                if c in (FrameClass.MISSING, FrameClass.SILENT):
                    run += 1
                    continue
                if run >= self._gap_frames:
                    gaps, longest, total = gaps + 1, max(longest, run), total + run
                run = 0
        ours, theirs, other = (counts[FrameClass.OURS], counts[FrameClass.THEIRS],
                               counts[FrameClass.OTHER])
        if not classes:
            signal = Signal.NONE
        elif ours + theirs + other == 0:
            signal = Signal.SILENCE
        else:
            best = max((ours, FrameClass.OURS), (theirs, FrameClass.THEIRS),
                       (other, FrameClass.OTHER))[1]
            signal = self._classifier.signal_of[best]
        fs = self._frame_seconds
        return AudioFigures(
            positions=len(classes), ours=ours, theirs=theirs, other=other,
            silent=counts[FrameClass.SILENT], events=counts[FrameClass.EVENT],
            missing=counts[FrameClass.MISSING], clipped=self._clipped, gaps=gaps,
            longest_gap_seconds=longest * fs, gap_seconds=total * fs, signal=signal,
            missing_runs=runs, frame_seconds=fs,
        )
