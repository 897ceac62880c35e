"""The range coder, quantisation, Huffman and LZ77: exact, bounded, round-tripping."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from scalinglab.compress import (
    RangeDecoder,
    RangeEncoder,
    bits_per_byte,
    code_length_bits,
    huffman_code,
    huffman_lengths,
    lz77_decode,
    lz77_encode,
    quantize_probabilities,
)
from scalinglab.compress.quantize import FREQUENCY_TOTAL_BITS


def fast(max_examples: int) -> settings:
    """Hypothesis settings for these tests: no deadline, no example database (the seed is
    the session's: see conftest.py)."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def sized_bytes(min_size: int, max_size: int) -> st.SearchStrategy[bytes]:
    """Bytes whose length is drawn first, evenly: plain st.binary stays near its minimum."""
    return st.integers(min_size, max_size).flatmap(lambda n: st.binary(min_size=n, max_size=n))


def _code_symbols(freq_rows: np.ndarray, symbols: np.ndarray, bits: int) -> bytes:
    enc = RangeEncoder()
    cums = np.cumsum(freq_rows, axis=1) - freq_rows
    rows = np.arange(len(symbols))
    for c, f in zip(cums[rows, symbols].tolist(), freq_rows[rows, symbols].tolist(), strict=True):
        enc.encode(c, f, bits)
    return enc.finish()


def _decode_symbols(payload: bytes, freq_rows: np.ndarray, bits: int) -> list[int]:
    dec = RangeDecoder(payload)
    out = []
    for row in freq_rows:
        cum = np.concatenate([[0], np.cumsum(row)])
        s = int(np.searchsorted(cum, dec.target(bits), side="right") - 1)
        dec.consume(int(cum[s]), int(row[s]), bits)
        out.append(s)
    return out


def test_multi_symbol_coder_is_within_a_tenth_of_a_percent_of_ideal_on_100k_symbols():
    rng = np.random.default_rng(0)
    n, vocab = 100_000, 16
    # A different peaked distribution at every position, like a model's predictions.
    probs = rng.dirichlet(np.full(vocab, 0.3), size=n)
    freqs = quantize_probabilities(probs)
    symbols = np.array([rng.choice(vocab, p=row) for row in probs[:2000]] * 50)
    payload = _code_symbols(freqs, symbols, FREQUENCY_TOTAL_BITS)
    rows = np.arange(n)
    ideal = -np.log2(freqs[rows, symbols] / 2.0**FREQUENCY_TOTAL_BITS).sum()
    assert 8 * len(payload) >= ideal  # nothing beats the ideal code
    assert 8 * len(payload) <= ideal * 1.001
    assert _decode_symbols(payload, freqs[:3000], FREQUENCY_TOTAL_BITS) == symbols[:3000].tolist()


def test_binary_coder_matches_ideal_and_decodes_with_skewed_probabilities():
    rng = np.random.default_rng(1)
    p1 = rng.integers(1, 1 << 16, size=200_000)
    p1[::3] = 65535  # very predictable decisions, where rounding would hurt most
    bits = (rng.random(p1.size) < p1 / 65536).astype(int)
    enc = RangeEncoder()
    for b, p in zip(bits.tolist(), p1.tolist(), strict=True):
        enc.encode_bit(b, p)
    payload = enc.finish()
    ideal = -np.where(bits == 1, np.log2(p1 / 65536), np.log2(1 - p1 / 65536)).sum()
    assert ideal <= 8 * len(payload) <= ideal * 1.001 + 64
    dec = RangeDecoder(payload)
    assert [dec.decode_bit(0, p) for p in p1.tolist()] == bits.tolist()


def test_carry_propagates_through_runs_of_ff_bytes():
    # P(1) tiny and every decision 0: low keeps growing towards the top of the range,
    # the case that forces carries into bytes already written.
    enc = RangeEncoder()
    decisions = [0] * 5000 + [1] + [0] * 5000
    for b in decisions:
        enc.encode_bit(b, 1)
    payload = enc.finish()
    dec = RangeDecoder(payload)
    assert [dec.decode_bit(0, 1) for _ in decisions] == decisions


def test_empty_stream_flushes_at_most_one_byte():
    assert len(RangeEncoder().finish()) <= 1


@fast(150)
@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=300))
@example([1.0])
@example([0.0, 0.0, 1.0])
@example([1e-300, 1.0])
def test_quantised_frequencies_sum_to_the_total_and_keep_every_symbol(weights):
    p = np.array(weights)
    if p.sum() == 0:
        p[0] = 1.0
    freqs = quantize_probabilities(p)
    assert freqs.sum() == 1 << FREQUENCY_TOTAL_BITS
    assert freqs.min() >= 1
    # deterministic: the same row alone or inside a batch gives the same integers
    batch = quantize_probabilities(np.stack([p, p[::-1], p]))
    assert np.array_equal(batch[0], freqs) and np.array_equal(batch[2], freqs)


def test_quantisation_loses_under_a_tenth_of_a_percent_on_peaked_distributions():
    rng = np.random.default_rng(2)
    probs = rng.dirichlet(np.full(256, 0.05), size=500)
    symbols = np.array([rng.choice(256, p=row) for row in probs])
    freqs = quantize_probabilities(probs)
    rows = np.arange(500)
    ideal = -np.log2(probs[rows, symbols]).sum()
    quantised = -np.log2(freqs[rows, symbols] / 2.0**24).sum()
    assert abs(quantised - ideal) <= 0.001 * ideal


def test_quantize_rejects_bad_input():
    with pytest.raises(ValueError, match="finite"):
        quantize_probabilities(np.array([0.5, np.nan]))
    with pytest.raises(ValueError, match="total_bits"):
        quantize_probabilities(np.array([0.5, 0.5]), total_bits=12)


def test_stream_outside_the_coding_interval_is_rejected():
    # A valid encoder never starts with 8 bytes of 0xFF (low + range < 2^64).
    with pytest.raises(ValueError, match="corrupted"):
        RangeDecoder(b"\xff" * 16)


# -- Huffman ---------------------------------------------------------------------------


@fast(200)
@given(st.lists(st.integers(0, 10_000), min_size=1, max_size=64).filter(lambda f: sum(f) > 0))
def test_huffman_obeys_kraft_and_lands_within_one_bit_of_entropy(freqs):
    code = huffman_code(freqs)
    used = [f for f in freqs if f]
    assert code.kraft_sum() <= 1.0 + 1e-12
    if len(used) >= 2:
        assert code.kraft_sum() == pytest.approx(1.0)  # a Huffman code is complete
    p = np.array(freqs, dtype=float) / sum(freqs)
    h = -sum(q * math.log2(q) for q in p if q > 0)
    avg = code.average_length(p)
    assert h - 1e-9 <= avg < h + 1 or len(used) == 1  # one symbol: H = 0, 1 bit/symbol


@fast(100)
@given(st.one_of(st.binary(min_size=1, max_size=400), sized_bytes(1024, 8192)))
def test_huffman_round_trips(data):
    counts = np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256)
    code = huffman_code(counts)
    packed, n_bits = code.encode(data)
    assert n_bits == sum(code.lengths[b] for b in data)
    assert bytes(code.decode(packed, len(data))) == data


def test_huffman_matches_a_known_code():
    # p = (1/2, 1/4, 1/8, 1/8): a dyadic source, Huffman is exactly optimal.
    assert huffman_lengths([4, 2, 1, 1]) == [1, 2, 3, 3]
    code = huffman_code([4, 2, 1, 1])
    assert code.average_length([0.5, 0.25, 0.125, 0.125]) == pytest.approx(1.75)
    with pytest.raises(ValueError, match="no codeword"):
        huffman_code([1, 0]).encode([1])


# -- LZ77 ------------------------------------------------------------------------------


@fast(150)
@given(st.one_of(st.binary(max_size=600), sized_bytes(1024, 8192),
                 sized_bytes(1024, 8192).map(lambda b: bytes(x & 3 for x in b))))
@example(b"")
@example(b"a" * 1000)
@example(b"abcabcabcabcabcabd" * 20)
def test_lz77_round_trips(data):
    assert lz77_decode(lz77_encode(data), len(data)) == data


def test_lz77_copies_repeats_and_rejects_garbage():
    text = b"the cat sat on the mat; " * 200
    assert len(lz77_encode(text)) < len(text) / 20
    with pytest.raises(ValueError):
        lz77_decode(b"\x01\xff\xff\x00", 10)


def test_measures():
    assert bits_per_byte(50, 100) == 4.0
    assert code_length_bits([0.5, 0.25]) == pytest.approx(3.0)
    with pytest.raises(ValueError):
        bits_per_byte(1, 0)
