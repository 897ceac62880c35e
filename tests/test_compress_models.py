"""Count models through the whole pipeline: every archive decodes back, byte for byte."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from scalinglab.compress import (
    COUNT_MODELS,
    AdaptiveOrderK,
    compress,
    compress_bytes,
    decompress_bytes,
    read_header,
)
from scalinglab.compress.context_models import StaticOrder0


def fast(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


ALL_BYTES = bytes(range(256))
EDGE_CASES = [b"", b"\x00", b"\xff", b"a" * 300, b"\x00" * 257, ALL_BYTES, ALL_BYTES[::-1] * 2]

# Inputs: arbitrary bytes, runs of one byte, and small-alphabet text (the
# synthetic source's shape), of random lengths.
inputs = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda b, n: bytes([b]) * n, st.integers(0, 255), st.integers(0, 400)),
    st.lists(st.integers(0, 3), max_size=400).map(bytes),
)


@fast(700)
@given(model=st.sampled_from(COUNT_MODELS), data=inputs)
@example(model="order5", data=ALL_BYTES)
@example(model="static", data=b"")
def test_every_count_model_round_trips(model, data):
    # the archive written (often stored, for such short inputs) and the model's own archive
    assert decompress_bytes(compress_bytes(data, model)) == data
    assert decompress_bytes(compress(data, model, allow_stored=False).archive) == data


def sized_bytes(min_size: int, max_size: int) -> st.SearchStrategy[bytes]:
    """Bytes whose length is drawn first, evenly: plain st.binary stays near its minimum."""
    return st.integers(min_size, max_size).flatmap(lambda n: st.binary(min_size=n, max_size=n))


# Long inputs, drawn explicitly: past the first few hundred bytes the counts grow
# large, contexts fill up and the coder renormalises many times.
long_inputs = st.one_of(
    sized_bytes(1024, 8192),
    sized_bytes(2048, 8192).map(lambda b: bytes(x & 3 for x in b)),
    st.builds(lambda block, n: (block * n)[:8192], st.binary(min_size=1, max_size=64),
              st.integers(16, 4096)),
)


@fast(8)
@given(model=st.sampled_from(COUNT_MODELS), data=long_inputs)
def test_every_count_model_round_trips_inputs_of_several_kb(model, data):
    archive = compress_bytes(data, model)
    assert decompress_bytes(archive) == data


@fast(300)
@given(order=st.integers(0, 5), data=inputs, prime=st.binary(max_size=200))
def test_primed_models_round_trip(order, data, prime):
    archive = compress(data, f"order{order}", prime=prime, allow_stored=False).archive
    assert decompress_bytes(archive, prime=prime) == data


@pytest.mark.parametrize("data", EDGE_CASES, ids=lambda d: f"{len(d)}B")
@pytest.mark.parametrize("model", COUNT_MODELS)
def test_edge_cases_round_trip(model, data):
    assert decompress_bytes(compress_bytes(data, model)) == data
    assert decompress_bytes(compress(data, model, allow_stored=False).archive) == data


def test_coder_is_within_a_tenth_of_a_percent_of_the_model_on_100kb():
    rng = np.random.default_rng(0)
    # 100 KB of an order-1 Markov text over 8 symbols: learnable, not trivial.
    trans = rng.dirichlet(np.full(8, 0.5), size=8)
    x = np.zeros(100_000, dtype=np.uint8)
    u = rng.random(x.size)
    cdf = np.cumsum(trans, axis=1)
    for t in range(1, x.size):
        x[t] = min(np.searchsorted(cdf[x[t - 1]], u[t]), 7)
    data = x.tobytes()
    for model in ("static", "order2"):
        result = compress(data, model)
        assert result.ideal_bits <= 8 * result.payload_bytes <= 1.001 * result.ideal_bits
        assert abs(result.coder_overhead) <= 0.001
    assert decompress_bytes(result.archive) == data


def test_higher_orders_learn_structure_that_order_zero_cannot():
    text = b"the quick brown fox jumps over the lazy dog. " * 60
    sizes = {m: compress(text, m).payload_bits_per_byte for m in ("static", "order0", "order3")}
    assert sizes["order3"] < 0.25 * sizes["order0"]
    # static order-0 pays for its table but knows the true frequencies from the start
    assert sizes["static"] < 6.0


def test_adaptive_model_on_a_known_source_approaches_its_entropy():
    # i.i.d. bytes with p = (1/2, 1/4, 1/8, 1/8): entropy 1.75 bits/byte.
    rng = np.random.default_rng(3)
    data = rng.choice(4, size=20_000, p=[0.5, 0.25, 0.125, 0.125]).astype(np.uint8).tobytes()
    bpb = compress(data, "order0").payload_bits_per_byte
    assert 1.70 < bpb < 1.80


def test_priming_with_the_training_text_helps_and_is_required_to_decode():
    train = b"a model that has read its training text codes similar text in fewer bits. " * 40
    held_out = b"a model that has read its training text codes it in fewer bits. " * 3
    alone = compress(held_out, "order4", allow_stored=False)
    primed = compress(held_out, "order4", prime=train, allow_stored=False)
    assert primed.payload_bytes < 0.5 * alone.payload_bytes
    assert read_header(primed.archive)["prime"]["length"] == len(train)
    with pytest.raises(ValueError, match="priming the model"):
        decompress_bytes(primed.archive)
    with pytest.raises(ValueError, match="is not the one"):
        decompress_bytes(primed.archive, prime=train[:-1])
    with pytest.raises(ValueError, match="without a prime"):
        decompress_bytes(alone.archive, prime=train)
    with pytest.raises(ValueError, match="count models"):
        compress(held_out, "transformer", prime=train)


def test_model_choices_and_errors():
    with pytest.raises(ValueError, match="unknown model 'order9'"):
        compress_bytes(b"x", "order9")
    with pytest.raises(ValueError, match="context order"):
        AdaptiveOrderK(6)
    with pytest.raises(ValueError, match="concentration"):
        AdaptiveOrderK(2, det_concentration=0)
    header = read_header(compress(b"hello", "order3", allow_stored=False).archive)
    assert header["model"]["name"] == "order3" and header["original_length"] == 5


def test_static_table_is_checked_against_the_header():
    payload, _ = StaticOrder0().encode(b"abc")
    with pytest.raises(ValueError, match="frequency table counts 3"):
        StaticOrder0().decode(payload, 4)
