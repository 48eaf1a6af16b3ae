"""G.711 µ-law and A-law, with our own tables (ITU-T G.711, 11/1988).

Why our own: `audioop` was removed in Python 3.13 and the call probe must not
depend on a C extension just to turn a test tone into 160 bytes a packet.

Linear samples are 16-bit signed integers (the usual PCM interface). G.711
itself is defined on 14-bit (µ-law) and 13-bit (A-law) uniform codes; a
16-bit sample is mapped onto them by dropping the low 2 (µ-law) or 3 (A-law)
bits, as ITU-T G.191's reference `g711.c` does. The decoded value is the
middle of the quantisation interval (G.711 Tables 1a/2a "decoder output"),
scaled back to 16 bits.

The 256-entry decode tables and the 64 Ki-entry encode tables are built once
at import from the segment rules below; encoding a 20 ms frame is then a
`bytes.translate`-free lookup per sample.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InvalidValue

__all__ = [
    "ANSWER_TONES_HZ",
    "CALLER_TONES_HZ",
    "FRAME_SAMPLES",
    "SAMPLE_RATE",
    "Law",
    "ReferenceSignal",
    "alaw_decode_sample",
    "alaw_encode_sample",
    "decode",
    "decode_table",
    "encode",
    "quantisation_step",
    "reference_signal",
    "ulaw_decode_sample",
    "ulaw_encode_sample",
]

SAMPLE_RATE = 8000  # G.711 §1: 8000 samples per second
FRAME_SAMPLES = 160  # 20 ms at 8 kHz: the RFC 3551 §4.5 default packetisation for PCMU/PCMA

_ULAW_BIAS = 0x84  # 33 in G.711's 14-bit scale, x4: shifts segment ends to powers of two
_ULAW_CLIP = 32635  # 8158 x4 + 3: the largest 14-bit magnitude G.711 µ-law codes (Table 2a)


class Law(enum.StrEnum):
    """The two G.711 companding laws, named as SDP names them (RFC 3551 §4.5.14)."""

    PCMU = "PCMU"  # µ-law, static payload type 0
    PCMA = "PCMA"  # A-law, static payload type 8

    @property
    def payload_type(self) -> int:
        return 0 if self is Law.PCMU else 8


def ulaw_encode_sample(sample: int) -> int:
    """One 16-bit sample → µ-law codeword (G.711 Table 2a).

    Segment e (0-7) covers biased magnitudes [2^(e+7), 2^(e+8)); the 4-bit
    step within it is the next four bits. The character signal is inverted
    on transmission (G.711 §3.2, "all 8 bits inverted"), so +0 is 0xFF.
    """
    if not -32768 <= sample <= 32767:
        raise InvalidValue(f"not a 16-bit sample: {sample}")
    sign = 0x80 if sample < 0 else 0x00
    magnitude = min(-sample if sample < 0 else sample, _ULAW_CLIP) + _ULAW_BIAS
    exponent = magnitude.bit_length() - 8  # magnitude ≥ 0x84 so this is 0..7
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def ulaw_decode_sample(code: int) -> int:
    """µ-law codeword → 16-bit sample at the middle of its interval (Table 2a)."""
    if not 0 <= code <= 0xFF:
        raise InvalidValue(f"not a codeword: {code}")
    code = ~code & 0xFF
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = (((mantissa << 3) + _ULAW_BIAS) << exponent) - _ULAW_BIAS
    return -magnitude if code & 0x80 else magnitude


def alaw_encode_sample(sample: int) -> int:
    """One 16-bit sample → A-law codeword (G.711 Table 1a).

    Segments 0 and 1 share the smallest step (the law's linear part near
    zero); each later segment doubles it. Even bits are inverted on
    transmission (G.711 §2.3, XOR 0x55), and the sign bit is 1 for positive
    values, so the smallest positive value is 0xD5.
    """
    if not -32768 <= sample <= 32767:
        raise InvalidValue(f"not a 16-bit sample: {sample}")
    value = sample >> 3  # 13-bit
    if value >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        value = -value - 1  # one's complement: negative intervals mirror positive ones
    segment = max(value.bit_length() - 5, 0)  # value ≤ 4095, so segment ≤ 7
    mantissa = (value >> (segment if segment > 1 else 1)) & 0x0F
    return ((segment << 4) | mantissa) ^ mask


def alaw_decode_sample(code: int) -> int:
    """A-law codeword → 16-bit sample at the middle of its interval (Table 1a)."""
    if not 0 <= code <= 0xFF:
        raise InvalidValue(f"not a codeword: {code}")
    code ^= 0x55
    segment = (code >> 4) & 0x07
    magnitude = ((code & 0x0F) << 4) + 8
    if segment:
        magnitude = (magnitude + 0x100) << (segment - 1)
    return magnitude if code & 0x80 else -magnitude


def quantisation_step(law: Law, code: int) -> int:
    """Width, in 16-bit units, of the interval the codeword stands for."""
    if law is Law.PCMU:
        return 8 << ((~code >> 4) & 0x07)
    segment = ((code ^ 0x55) >> 4) & 0x07
    return 16 << max(segment - 1, 0)


_ULAW_DECODE = tuple(ulaw_decode_sample(c) for c in range(256))
_ALAW_DECODE = tuple(alaw_decode_sample(c) for c in range(256))
# Indexed by sample & 0xFFFF, so negative samples index from 0x8000 upwards.
_ULAW_ENCODE = bytes(ulaw_encode_sample(s - 65536 if s > 32767 else s) for s in range(65536))
_ALAW_ENCODE = bytes(alaw_encode_sample(s - 65536 if s > 32767 else s) for s in range(65536))


def encode(law: Law, samples: Sequence[int]) -> bytes:
    """Encode 16-bit samples; values outside the 16-bit range raise `ValueError`."""
    table = _ULAW_ENCODE if law is Law.PCMU else _ALAW_ENCODE
    out = bytearray(len(samples))
    for i, sample in enumerate(samples):
        if not -32768 <= sample <= 32767:
            raise InvalidValue(f"not a 16-bit sample at index {i}: {sample}")
        out[i] = table[sample & 0xFFFF]
    return bytes(out)


def decode_table(law: Law) -> tuple[int, ...]:
    """Codeword -> 16-bit sample, for receivers that decode a frame at a time."""
    return _ULAW_DECODE if law is Law.PCMU else _ALAW_DECODE


def decode(law: Law, data: bytes) -> list[int]:
    """Decode codewords to 16-bit samples."""
    table = _ULAW_DECODE if law is Law.PCMU else _ALAW_DECODE
    return [table[c] for c in data]


@dataclass(frozen=True, slots=True)
class ReferenceSignal:
    """A looping test signal, pre-encoded into 20 ms frames for one law.

    `frames[n % len(frames)]` is the payload of packet n. The loop is exactly
    one second (50 frames) of tones with whole-number frequencies, so it
    repeats without a click and an echo can be matched to the frame it came
    from.
    """

    law: Law
    frames: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not self.frames:
            raise InvalidValue("a test signal needs at least one frame")
        if any(len(f) != FRAME_SAMPLES for f in self.frames):
            raise InvalidValue(f"every frame must hold {FRAME_SAMPLES} samples")


# Three tones spread over the telephone band (300-3400 Hz, G.712), each at
# -16 dBov, summing to a peak below -6 dBov: loud enough to survive a
# platform's level handling, far enough from clipping to stay linear.
# The caller (the call probe) and the answer point (`monitord responder
# --media tone`) send different triples, none a DTMF frequency (Q.23), so a
# receiver can tell the far end's signal from its own looped back
# (probes/quality/audio.py).
CALLER_TONES_HZ = (425, 1004, 2300)
ANSWER_TONES_HZ = (550, 1650, 2850)
_TONE_DBOV = -16.0


def _test_samples(tones: tuple[int, ...]) -> list[int]:
    amplitude = 32767 * 10 ** (_TONE_DBOV / 20)
    return [
        round(sum(amplitude * math.sin(2 * math.pi * f * n / SAMPLE_RATE) for f in tones))
        for n in range(SAMPLE_RATE)
    ]


def _signal(law: Law, samples: list[int]) -> ReferenceSignal:
    return ReferenceSignal(law, tuple(encode(law, samples[i : i + FRAME_SAMPLES])
                                      for i in range(0, SAMPLE_RATE, FRAME_SAMPLES)))


_SIGNALS: dict[tuple[Law, tuple[int, ...]], ReferenceSignal] = {
    (law, tones): _signal(law, _test_samples(tones))
    for law in Law for tones in (CALLER_TONES_HZ, ANSWER_TONES_HZ)
}


def reference_signal(law: Law, tones: tuple[int, ...] = CALLER_TONES_HZ) -> ReferenceSignal:
    """The pre-encoded test signal (built once at import) for `law`: the caller's
    tones by default, `ANSWER_TONES_HZ` for the answer point's."""
    try:
        return _SIGNALS[(law, tones)]
    except KeyError:
        raise InvalidValue(f"no test signal with tones {tones}") from None
