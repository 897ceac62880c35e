"""Never worse than storing, and honest accounting.

Whatever the model and whatever the input (random bytes, a binary, a script the
model never saw, the empty file), the archive is at most 64 bytes bigger than
the input; the coder's overhead, measured against the integer probabilities it
really used, is never negative; the empty file has no rate.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_compress_micro_model import MICRO, SOURCE, train_micro

from scalinglab.cli import main
from scalinglab.compress import RangeDecoder, RangeEncoder, compress, decompress_bytes
from scalinglab.compress.archive import STORED_OVERHEAD_BYTES
from scalinglab.compress.quantize import (
    escape_floor,
    escape_frequencies,
    min_symbol_bits,
    quantised_code_length_bits,
)

CHINESE = ("压缩即是预测：一个语言模型给下一个字节的概率越准，编码就越短。" * 40).encode()
BINARY = Path(sys.executable).read_bytes()[:6000]  # a real executable's first bytes
NOISE = np.random.default_rng(11).bytes(6000)
PROBES = [b"", b"\x00", NOISE, BINARY, CHINESE, SOURCE[:3000] + NOISE[:3000]]

MAX_GROWTH = 64
"""The promise: no archive is more than 64 bytes bigger than its input."""


def fast(max_examples: int) -> settings:
    return settings(max_examples=max_examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("escape")
    small_symbols = bytes(np.random.default_rng(0).integers(0, 16, 3000).astype(np.uint8))
    return {
        "pretrained": (train_micro(folder / "micro.pt"), {"chunk_bytes": 512}),
        "vocab16": (train_micro(folder / "v16.pt", text=small_symbols, steps=30, vocab_size=16),
                    {"chunk_bytes": 512}),
        "online": ("transformer", {"config": MICRO, "update_bytes": 256, "steps": 1,
                                   "batch_size": 4, "chunk_bytes": 512}),
    }


# Inputs with lengths drawn explicitly up to 6 KB: random bytes, runs, small alphabets,
# text the models know and UTF-8 they never saw (plus hypothesis's own short binaries).
lengths = st.integers(0, 6000)
seeds = st.integers(0, 2**32 - 1)
inputs = st.one_of(
    st.builds(lambda n, seed: np.random.default_rng(seed).bytes(n), lengths, seeds),
    st.binary(max_size=300),
    st.builds(lambda b, n: bytes([b]) * n, st.integers(0, 255), lengths),
    st.builds(lambda n, seed, k: np.random.default_rng(seed).integers(0, k, n)
              .astype(np.uint8).tobytes(), lengths, seeds, st.integers(1, 16)),
    st.builds(lambda a, n: SOURCE[a : a + n], st.integers(0, len(SOURCE)), lengths),
    st.builds(lambda n: CHINESE[:n], lengths),
)


@fast(60)
@given(model=st.sampled_from(["static", "order0", "order2", "order5"]), data=inputs)
@example(model="order2", data=NOISE)
@example(model="static", data=b"")
def test_count_models_never_grow_a_file_by_more_than_64_bytes(model, data):
    result = compress(data, model)
    assert result.size_bytes <= len(data) + MAX_GROWTH
    assert decompress_bytes(result.archive) == data


@fast(10)
@given(data=inputs)
@example(data=CHINESE)
def test_a_primed_model_on_text_it_never_saw_is_stored_not_inflated(data):
    prime = SOURCE[:5000]  # English and Python: nothing like Chinese or noise
    result = compress(data, "order3", prime=prime)
    assert result.size_bytes <= len(data) + MAX_GROWTH
    assert decompress_bytes(result.archive, prime=prime) == data


@fast(12)
@given(name=st.sampled_from(["pretrained", "vocab16", "online"]), data=inputs)
def test_transformers_never_grow_a_file_by_more_than_64_bytes(models, name, data):
    model, options = models[name]
    checkpoint = None if model == "transformer" else model
    result = compress(data, model, **options)
    assert result.size_bytes <= len(data) + MAX_GROWTH
    assert decompress_bytes(result.archive, checkpoint=checkpoint) == data


@pytest.mark.parametrize("data", PROBES, ids=["empty", "zero", "noise", "binary", "chinese",
                                              "mixed"])
def test_every_probe_with_every_model_is_bounded(models, data):
    for model, options in [("order1", {}), *models.values()]:
        checkpoint = model if str(model).endswith(".pt") else None
        result = compress(data, model, **options)
        assert result.size_bytes <= len(data) + MAX_GROWTH, (model, len(data))
        assert decompress_bytes(result.archive, checkpoint=checkpoint) == data


def test_chunks_the_model_cannot_code_are_stored_inside_its_archive(models):
    pt, _ = models["pretrained"]
    data = SOURCE[:2048] + NOISE[:2048] + CHINESE[:2048] + SOURCE[4096:6144]
    result = compress(data, pt, chunk_bytes=2048)
    assert not result.stored and result.chunks == 4 and result.stored_chunks == 2
    assert decompress_bytes(result.archive, checkpoint=pt) == data
    whole = compress(NOISE, pt)
    assert whole.stored and whole.size_bytes <= len(NOISE) + STORED_OVERHEAD_BYTES
    assert STORED_OVERHEAD_BYTES <= MAX_GROWTH


# -- the escape ------------------------------------------------------------------------


@fast(60)
@given(vocab=st.integers(1, 256), escape_bits=st.integers(1, 16), seed=st.integers(0, 99),
       peak=st.floats(0.01, 100))
def test_escape_frequencies_keep_every_byte_and_bound_its_cost(vocab, escape_bits, seed, peak):
    probs = np.random.default_rng(seed).dirichlet(np.full(vocab, peak), size=3)
    freqs = escape_frequencies(probs, escape_bits)
    assert freqs.shape == (3, 256) and (freqs.sum(axis=1) == 1 << 24).all()
    assert freqs.min() >= escape_floor(escape_bits)  # no byte costs more than 8 + e bits
    assert -math.log2(freqs.min() / 2**24) <= 8 + escape_bits
    assert -math.log2(freqs.max() / 2**24) >= min_symbol_bits(escape_bits) - 1e-12
    # each row alone gives the integers it gets in the batch
    assert np.array_equal(escape_frequencies(probs[1], escape_bits), freqs[1])


def test_the_escape_costs_a_model_almost_nothing_on_bytes_it_expects():
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.full(256, 0.05), size=400)
    symbols = np.array([rng.choice(256, p=row) for row in probs])
    freqs = escape_frequencies(probs)
    model_bits = -np.log2(probs[np.arange(400), symbols]).sum()
    coded = quantised_code_length_bits(freqs[np.arange(400), symbols])
    assert coded - model_bits < 400 * 0.002  # -log2(1 - 2^-10) ≈ 0.0014 bits per byte


# -- honest accounting -----------------------------------------------------------------


@fast(150)
@given(rows=st.integers(0, 300), vocab=st.integers(2, 256), seed=st.integers(0, 10**6),
       bits=st.lists(st.tuples(st.booleans(), st.integers(1, 65535)), max_size=300))
def test_a_range_code_is_never_shorter_than_its_quantised_ideal(rows, vocab, seed, bits):
    rng = np.random.default_rng(seed)
    freqs = escape_frequencies(rng.dirichlet(np.full(vocab, 0.1), size=max(rows, 1)))[:rows]
    symbols = np.array([rng.choice(256, p=f / f.sum()) for f in freqs], dtype=np.int64)
    enc = RangeEncoder()
    ideal = 0.0
    for f, s in zip(freqs, symbols, strict=True):
        enc.encode(int(f[:s].sum()), int(f[s]), 24)
        ideal += 24 - math.log2(f[s])
    for bit, p1 in bits:
        enc.encode_bit(int(bit), p1)
        ideal += -math.log2((p1 if bit else 65536 - p1) / 65536)
    payload = enc.finish()
    assert 8 * len(payload) >= ideal
    dec = RangeDecoder(payload)
    for f, s in zip(freqs, symbols, strict=True):
        ends = np.cumsum(f)
        got = int(np.searchsorted(ends, dec.target(24), side="right"))
        dec.consume(int(ends[got] - f[got]), int(f[got]), 24)
        assert got == s
    assert [dec.decode_bit(0, p1) for _, p1 in bits] == [int(b) for b, _ in bits]


@fast(40)
@given(model=st.sampled_from(["static", "order0", "order3"]), data=inputs)
def test_coder_overhead_is_never_negative(model, data):
    for allow_stored in (True, False):
        result = compress(data, model, allow_stored=allow_stored)
        assert result.coder_overhead >= 0
        assert 8 * result.payload_bytes >= result.ideal_bits


def test_transformer_overhead_is_measured_against_the_quantised_ideal(models):
    pt, _ = models["pretrained"]
    for chunk_bytes in (0, 512):
        result = compress(SOURCE[:3000], pt, chunk_bytes=chunk_bytes)
        assert not result.stored and 0 <= result.coder_overhead < 0.01


def test_the_three_rates(models, tmp_path):
    pt, _ = models["pretrained"]
    text = SOURCE[:3000]
    raw = compress(text, pt, chunk_bytes=512)
    assert raw.prequential_bits_per_byte is None  # not measured unless asked
    both = compress(text, pt, chunk_bytes=512, prequential=True)
    assert both.adjusted_bits_per_byte == pytest.approx(
        8 * (both.size_bytes + both.weights_bytes) / len(text))
    assert both.adjusted_bits_per_byte > both.bits_per_byte
    assert both.prequential_bits_per_byte > 0
    online = compress(text, "order2")  # learns as it codes: nothing else to pay for
    assert online.weights_bytes == 0
    assert online.adjusted_bits_per_byte == online.prequential_bits_per_byte \
        == online.bits_per_byte
    primed = compress(text, "order2", prime=SOURCE[3000:], prequential=True)
    assert primed.weights_bytes == len(SOURCE) - 3000
    assert primed.prequential_bytes == online.size_bytes


def test_the_empty_file_is_zero_bytes_with_no_rate(tmp_path, capsys):
    result = compress(b"", "order2")
    assert result.original_bytes == 0 and result.size_bytes <= MAX_GROWTH
    assert math.isnan(result.bits_per_byte) and math.isnan(result.adjusted_bits_per_byte)
    empty, packed, back = tmp_path / "empty", tmp_path / "empty.slz", tmp_path / "back"
    empty.write_bytes(b"")
    assert main(["compress", str(empty), str(packed)]) == 0
    out = capsys.readouterr().out
    assert ": 0 bytes ->" in out and "no rate" in out and "bits/byte" not in out
    assert main(["decompress", str(packed), str(back)]) == 0
    out = capsys.readouterr().out
    assert ": 0 bytes (" in out and "no rate" in out and "nan" not in out
    assert back.read_bytes() == b""
