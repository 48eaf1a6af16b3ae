"""G.711 against known codewords and exhaustive round-trip properties."""

from __future__ import annotations

import itertools
import math

import pytest

from probes.rtp.g711 import (
    FRAME_SAMPLES,
    Law,
    alaw_decode_sample,
    alaw_encode_sample,
    decode,
    encode,
    quantisation_step,
    reference_signal,
    ulaw_decode_sample,
    ulaw_encode_sample,
)

ALL_SAMPLES = range(-32768, 32768)


def test_known_ulaw_codewords() -> None:
    assert ulaw_encode_sample(0) == 0xFF  # +0 with all bits inverted (G.711 §3.2)
    assert ulaw_encode_sample(-1) == 0x7F  # the negative-zero code
    assert ulaw_encode_sample(32767) == 0x80  # positive full scale
    assert ulaw_encode_sample(-32768) == 0x00  # negative full scale
    assert ulaw_decode_sample(0xFF) == 0
    assert ulaw_decode_sample(0x7F) == 0
    assert ulaw_decode_sample(0x80) == 32124  # 8031 in G.711's 14-bit scale, x4
    assert ulaw_decode_sample(0x00) == -32124


def test_known_alaw_codewords() -> None:
    assert alaw_encode_sample(0) == 0xD5  # smallest positive interval, even bits inverted
    assert alaw_encode_sample(-1) == 0x55
    assert alaw_encode_sample(32767) == 0xAA  # positive full scale
    assert alaw_encode_sample(-32768) == 0x2A
    assert alaw_decode_sample(0xD5) == 8  # 1 in the 13-bit scale, x8 (middle of [0, 2))
    assert alaw_decode_sample(0x55) == -8
    assert alaw_decode_sample(0xAA) == 32256  # 4032 x8
    assert alaw_decode_sample(0x2A) == -32256


@pytest.mark.parametrize(
    ("law", "expected"),
    [
        # The digital milliwatt, G.711 Tables 5 (µ-law) and 6 (A-law): a 1 kHz
        # sine at 0 dBm0 (3.17 dB below full scale) sampled at phase π/8.
        (Law.PCMU, bytes.fromhex("1e0b0b1e9e8b8b9e")),
        (Law.PCMA, bytes.fromhex("34212134b4a1a1b4")),
    ],
)
def test_digital_milliwatt(law: Law, expected: bytes) -> None:
    amplitude = 32768 * 10 ** (-3.17 / 20)
    sine = [round(amplitude * math.sin(math.pi / 8 + k * math.pi / 4 + math.pi)) for k in range(8)]
    assert encode(law, sine) == expected


@pytest.mark.parametrize("law", list(Law))
def test_every_codeword_reencodes_to_itself(law: Law) -> None:
    for code in range(256):
        if law is Law.PCMU and code == 0x7F:
            continue  # negative zero decodes to 0, which encodes as +0 (0xFF)
        assert encode(law, decode(law, bytes([code]))) == bytes([code]), hex(code)
    if law is Law.PCMU:
        assert encode(law, decode(law, b"\x7f")) == b"\xff"


def test_ulaw_decode_within_half_a_step_of_every_input() -> None:
    encoded = encode(Law.PCMU, ALL_SAMPLES)
    decoded = decode(Law.PCMU, encoded)
    for sample, code, value in zip(ALL_SAMPLES, encoded, decoded, strict=True):
        clipped = max(-32635, min(32635, sample))  # G.711 µ-law's range, x4 (+3)
        assert abs(value - clipped) <= quantisation_step(Law.PCMU, code) // 2, sample


def test_alaw_decode_within_half_a_step_of_every_input() -> None:
    encoded = encode(Law.PCMA, ALL_SAMPLES)
    decoded = decode(Law.PCMA, encoded)
    for sample, code, value in zip(ALL_SAMPLES, encoded, decoded, strict=True):
        assert abs(value - sample) <= quantisation_step(Law.PCMA, code) // 2, sample


@pytest.mark.parametrize("law", list(Law))
def test_encoding_is_monotonic(law: Law) -> None:
    # Larger inputs never decode to smaller values: the law is a staircase.
    decoded = decode(law, encode(law, ALL_SAMPLES))
    assert all(a <= b for a, b in itertools.pairwise(decoded))


@pytest.mark.parametrize("law", list(Law))
def test_out_of_range_samples_are_rejected(law: Law) -> None:
    with pytest.raises(ValueError, match="16-bit"):
        encode(law, [32768])
    with pytest.raises(ValueError, match="16-bit"):
        ulaw_encode_sample(-32769)


@pytest.mark.parametrize("law", list(Law))
def test_reference_signal_is_one_second_of_20ms_frames(law: Law) -> None:
    signal = reference_signal(law)
    assert signal.law is law
    assert len(signal.frames) == 50
    assert all(len(frame) == FRAME_SAMPLES for frame in signal.frames)
    assert reference_signal(law) is signal  # built once
    samples = [s for frame in signal.frames for s in decode(law, frame)]
    assert max(abs(s) for s in samples) < 32768 // 2  # peak below -6 dBov: no clipping
    assert len(set(signal.frames)) > 1  # not a constant tone: frames are distinguishable


def test_law_payload_types() -> None:
    assert Law.PCMU.payload_type == 0  # RFC 3551 Table 4
    assert Law.PCMA.payload_type == 8
