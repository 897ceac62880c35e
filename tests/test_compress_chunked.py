"""Chunked, batched transformer coding: the decoder sees exactly the encoder's probabilities.

Round trips over many lengths (0, 1, chunk − 1, chunk, chunk + 1, several chunks, a few
KB of random bytes), chunk sizes and batch sizes, for a pre-trained and an online model,
on files that mix text the model codes with noise it stores.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_compress_micro_model import MICRO, SOURCE, train_micro

from scalinglab.compress import compress, decompress_bytes, read_header
from scalinglab.compress.cached_gpt import CachedGPT
from scalinglab.compress.chunked import chunk_groups, run_group
from scalinglab.compress.windows import deterministic_torch
from scalinglab.model import GPT, GPTConfig, load_checkpoint

NOISE = np.random.default_rng(7).bytes(4096)


@pytest.fixture(scope="module")
def trained_pt(tmp_path_factory):
    return train_micro(tmp_path_factory.mktemp("chunked") / "micro.pt")


def _round_trip(data: bytes, model, checkpoint=None, **options):
    result = compress(data, model, allow_stored=False, **options)
    assert decompress_bytes(result.archive, checkpoint=checkpoint) == data
    assert result.coder_overhead >= 0
    return result


def test_cached_steps_match_the_full_forward_pass():
    torch.manual_seed(0)
    model = GPT(GPTConfig(**MICRO)).eval()
    x = torch.randint(0, 256, (5, 16))
    full = model(x)[0]
    for kept in (0, 1, 9):
        cache = CachedGPT(model, batch=5)
        cache.prefill(x[:, :kept])
        for p in range(kept, 16):
            torch.testing.assert_close(cache.step(x[:, p]), full[:, p], rtol=1e-5, atol=1e-5)
        with pytest.raises(ValueError, match="window is full"):
            cache.step(x[:, 0])


def test_chunk_groups_cover_every_byte_once_in_batches():
    for n, chunk, group in [(0, 4, 2), (1, 4, 2), (9, 4, 2), (16, 4, 3), (5000, 2048, 1024)]:
        groups = list(chunk_groups(n, chunk, group))
        spans = [span for g in groups for span in g]
        assert sum(size for _, size in spans) == n
        assert [offset for offset, _ in spans] == list(range(0, n, chunk))
        assert all(1 <= len(g) <= group for g in groups)
    next(chunk_groups(1 << 40, 2048, 4))  # lazy: a stated length allocates nothing


def test_the_decoders_view_gives_the_encoders_frequencies(trained_pt):
    """Run the batch as the encoder (all bytes known) and as the decoder (filled as it goes)."""
    model, _ = load_checkpoint(trained_pt)
    data = np.frombuffer(SOURCE[:130] + NOISE[:50], dtype=np.uint8)
    x_enc = np.zeros((3, 60), dtype=np.uint8)
    x_enc[0], x_enc[1], x_enc[2, :20] = data[:60], data[60:120], data[120:140]
    x_dec = np.zeros_like(x_enc)
    seen_enc, seen_dec = [], []

    def encoder(t, f, ends):
        seen_enc.append(np.array(f))

    def decoder(t, f, ends):
        seen_dec.append(np.array(f))
        x_dec[:, t] = x_enc[:, t]  # "decode" column t, just in time

    with deterministic_torch():
        run_group(model, x_enc, 8, 10, encoder)
        run_group(model, x_dec, 8, 10, decoder)
    assert len(seen_enc) == 60
    for a, b in zip(seen_enc, seen_dec, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("chunk_bytes,group_chunks", [(40, None), (40, 1), (40, 3), (2048, None)])
def test_pretrained_round_trips_every_length(trained_pt, chunk_bytes, group_chunks):
    c = chunk_bytes
    text = SOURCE * 2
    mixed = text[:3 * c] + NOISE[:2 * c] + text[5000:5000 + c + 7]  # coded and stored chunks
    lengths = {0, 1, 2, c - 1, c, c + 1} | ({3 * c + 5} if c < 100 else set())
    for n in sorted(lengths):
        _round_trip(text[:n], trained_pt, trained_pt, chunk_bytes=c, group_chunks=group_chunks)
    if c < 100:  # several chunks, some coded and some stored, and a few KB of noise
        result = _round_trip(mixed, trained_pt, trained_pt, chunk_bytes=c,
                             group_chunks=group_chunks)
        assert 0 < result.stored_chunks < result.chunks  # both paths taken
        _round_trip(NOISE, trained_pt, trained_pt, chunk_bytes=c, group_chunks=group_chunks)


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=300),
                      st.integers(0, 600).map(lambda n: SOURCE[1000:1000 + n])),
       chunk_bytes=st.integers(1, 70), group_chunks=st.integers(1, 5))
def test_pretrained_round_trips_arbitrary_bytes_and_chunkings(trained_pt, data, chunk_bytes,
                                                              group_chunks):
    _round_trip(data, trained_pt, trained_pt, chunk_bytes=chunk_bytes, group_chunks=group_chunks)


@pytest.mark.parametrize("chunk_bytes,group_chunks", [(64, None), (64, 2), (100, 1)])
def test_prequential_round_trips_with_training_between_blocks(chunk_bytes, group_chunks):
    options = {"config": MICRO, "update_bytes": 64, "steps": 2, "batch_size": 4,
               "chunk_bytes": chunk_bytes, "group_chunks": group_chunks}
    for data in (b"", SOURCE[:1], SOURCE[:chunk_bytes + 1], SOURCE[:700] + NOISE[:300]):
        result = _round_trip(data, "transformer", **options)
        assert read_header(result.archive)["model"]["chunk_bytes"] == chunk_bytes


def test_chunks_code_text_almost_as_well_as_one_stream(trained_pt):
    text = SOURCE[:6000]
    stream = compress(text, trained_pt, chunk_bytes=0)
    chunked = compress(text, trained_pt)  # 2,048-byte chunks, one batch of three
    assert not stream.stored and not chunked.stored
    # the cost is the context lost at two chunk starts: a few bits each, not a rate
    assert chunked.size_bytes - stream.size_bytes < 40


def test_a_batch_split_over_two_threads_round_trips(trained_pt):
    """≥ 128 chunks in a batch: two sub-batches, each on its own thread."""
    data = SOURCE[:700] + NOISE[:300] + SOURCE[3000:3100]  # 138 chunks of 8 bytes
    for sub_batches in (1, 2, 3):
        result = _round_trip(data, trained_pt, trained_pt, chunk_bytes=8,
                             sub_batches=sub_batches)
        assert result.chunks == 138
        assert read_header(result.archive)["model"]["sub_batches"] == sub_batches
