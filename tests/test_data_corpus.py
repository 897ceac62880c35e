"""load_corpus, get_batch and corpus_summaries: the corpus API the notebooks call."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from scalinglab.data import CORPORA, corpus_summaries, get_batch, load_corpus, synthetic_source
from scalinglab.entropy import ngram_entropy

# -- load_corpus ------------------------------------------------------------------------------


def test_synthetic_corpus_defaults():
    corpus = load_corpus("synthetic")
    source = synthetic_source()
    assert corpus.train.size == 1_000_000 and corpus.val.size == 100_000
    assert corpus.train.dtype == np.uint8 and corpus.vocab_size == 16
    assert corpus.entropy_floor_bpb == source.entropy_rate
    assert f"{source.entropy_rate:.4f}" in corpus.description


def test_synthetic_train_and_validation_are_independent_samples_of_one_source():
    corpus = load_corpus("synthetic", train_bytes=200_000, val_bytes=200_000, seed=3)
    assert not np.array_equal(corpus.train[:1000], corpus.val[:1000])
    # Same source: the same symbol frequencies, up to sampling noise.
    f_train = np.bincount(corpus.train, minlength=16) / corpus.train.size
    f_val = np.bincount(corpus.val, minlength=16) / corpus.val.size
    assert 0.5 * np.abs(f_train - f_val).sum() < 0.02


def test_synthetic_corpus_is_reproducible_and_seeded():
    a = load_corpus("synthetic", train_bytes=5_000, val_bytes=1_000, seed=1)
    b = load_corpus("synthetic", train_bytes=5_000, val_bytes=1_000, seed=1)
    c = load_corpus("synthetic", train_bytes=5_000, val_bytes=1_000, seed=2)
    assert np.array_equal(a.train, b.train) and np.array_equal(a.val, b.val)
    assert not np.array_equal(a.train, c.train)


def test_source_options_reach_the_source():
    corpus = load_corpus("synthetic", train_bytes=300_000, val_bytes=1_000,
                         vocab_size=8, order=2, concentrations=[8, 4], source_seed=5)
    source = synthetic_source(vocab_size=8, order=2, concentrations=(8.0, 4.0), source_seed=5)
    assert corpus.vocab_size == 8 and corpus.train.max() < 8
    assert corpus.entropy_floor_bpb == source.entropy_rate
    assert ngram_entropy(corpus.train, 2) == pytest.approx(source.entropy_rate, rel=0.02)


def test_the_source_is_built_once_per_parameter_set():
    assert synthetic_source(vocab_size=8, order=2) is synthetic_source(vocab_size=8, order=2)
    assert synthetic_source(concentrations=[16, 8, 4]) is synthetic_source(
        concentrations=(16.0, 8.0, 4.0))


def test_corpus_arrays_are_read_only():
    corpus = load_corpus("pydocs")
    with pytest.raises(ValueError):
        corpus.train[0] = 0
    with pytest.raises(ValueError):
        load_corpus("synthetic", train_bytes=10, val_bytes=10).val[0] = 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: load_corpus("wikipedia"), "synthetic, pydocs, stdlib, shakespeare, enwik8"),
        (lambda: load_corpus("synthetic", depth=3), "vocab_size, order"),
        (lambda: load_corpus("pydocs", vocab_size=8), "only to the synthetic source"),
        (lambda: load_corpus("synthetic", train_bytes=0), "positive integer"),
        (lambda: load_corpus("pydocs", train_bytes=1.5), "positive integer"),
    ],
)
def test_bad_requests_get_errors_that_name_the_fix(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# -- get_batch ----------------------------------------------------------------------------------


def test_batches_are_next_token_pairs_from_the_stream():
    tokens = np.arange(1000, dtype=np.int64) % 251  # position is readable from the value
    x, y = get_batch(tokens.astype(np.uint8), 8, 16, np.random.default_rng(0))
    assert x.dtype == torch.int64 and y.dtype == torch.int64
    assert x.shape == (8, 16) and y.shape == (8, 16)
    assert torch.equal(x[:, 1:], y[:, :-1])
    assert torch.equal((x + 1) % 251, y)  # every target is the token after its input


def test_batches_are_seeded_and_cover_the_whole_stream():
    tokens = np.arange(100, dtype=np.uint8)
    a = get_batch(tokens, 4, 10, np.random.default_rng(7))
    b = get_batch(tokens, 4, 10, np.random.default_rng(7))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    rng = np.random.default_rng(1)
    starts = torch.cat([get_batch(tokens, 64, 10, rng)[0][:, 0] for _ in range(20)])
    assert int(starts.min()) == 0 and int(starts.max()) == 100 - 11  # every offset reachable


def test_get_batch_rejects_data_shorter_than_a_window():
    with pytest.raises(ValueError, match="seq_len"):
        get_batch(np.zeros(16, dtype=np.uint8), 2, 16, np.random.default_rng(0))
    get_batch(np.zeros(17, dtype=np.uint8), 2, 16, np.random.default_rng(0))  # just fits


def test_get_batch_wants_a_generator():
    with pytest.raises(ValueError, match="default_rng"):
        get_batch(np.zeros(100, dtype=np.uint8), 2, 8, 0)


# -- corpus_summaries --------------------------------------------------------------------------


def test_summaries_cover_every_corpus_cheaply():
    start = time.perf_counter()
    rows = corpus_summaries()
    assert time.perf_counter() - start < 2.0
    assert [row["name"] for row in rows] == list(CORPORA)
    for row in rows:
        assert set(row) == {"name", "offline", "cached", "size_bytes", "entropy_floor_bpb",
                            "note"}
    by_name = {row["name"]: row for row in rows}
    assert by_name["synthetic"]["entropy_floor_bpb"] == synthetic_source().entropy_rate
    assert by_name["pydocs"]["size_bytes"] == load_corpus("pydocs").size_bytes
    assert [n for n in CORPORA if by_name[n]["offline"]] == ["synthetic", "pydocs", "stdlib"]
    assert by_name["enwik8"]["cached"] is False  # the tests' cache folder holds no enwik8
