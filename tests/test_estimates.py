"""Entropy estimates over growing data sizes (lab 2)."""

import math

import numpy as np
import pytest

from scalinglab.data import SyntheticSource
from scalinglab.entropy import ngram_entropy
from scalinglab.estimates import (
    cells_seen,
    entropy_estimates,
    estimate_table,
    format_estimates,
    heldout_ngram_bpb,
    miller_madow_entropy,
    plugin_bias_bound,
    prefix_sizes,
)


@pytest.fixture(scope="module")
def source():
    return SyntheticSource(vocab_size=8, order=2, concentrations=(8.0, 4.0), seed=3)


def test_prefix_sizes_grow_to_the_whole_sample():
    assert prefix_sizes(1_000_000) == [1024, 4096, 16384, 65536, 262144, 1_000_000]
    assert prefix_sizes(1024) == [1024]


def test_cells_seen_counts_distinct_pairs_and_contexts():
    x = np.array([0, 1, 0, 1, 1, 0])
    # windows of 2: 01 10 01 11 10 -> pairs {01, 10, 11}; contexts {0, 1}
    assert cells_seen(x, 1, 2) == (3, 2)
    assert cells_seen(x, 0, 2) == (2, 1)


def test_bias_bound_formula():
    assert plugin_bias_bound(3, 16, 10**6) == pytest.approx(4096 * 15 / (2e6 * math.log(2)))
    with pytest.raises(ValueError):
        plugin_bias_bound(1, 16, 0)


def test_estimates_converge_to_the_exact_rate(source):
    sample = source.sample(400_000, seed=1)
    sizes = prefix_sizes(sample.size)
    rows = entropy_estimates(sample, range(4), sizes, source.vocab_size)
    table = estimate_table(rows)
    rate = source.entropy_rate
    n = sizes[-1]
    assert abs(table[2][-1] - rate) < 3 * plugin_bias_bound(2, 8, n)
    assert table[0][-1] > table[1][-1] > table[2][-1] > rate - 0.01
    assert table[3][0] < rate  # a long context on little data under-estimates
    assert table[2][0] < table[2][-1]
    miller = estimate_table(rows, "miller_madow_bits")
    assert all(m >= p for m, p in zip(miller[3], table[3], strict=True))
    assert abs(miller[2][-1] - rate) <= abs(table[2][-1] - rate) + 1e-3
    text = format_estimates(rows, rate)
    assert "exact entropy rate" in text and len(text.splitlines()) == 2 + 4 + 1


def test_miller_madow_adds_the_first_order_term(source):
    x = source.sample(5000, seed=2)
    pairs, contexts = cells_seen(x, 2, 8)
    expected = ngram_entropy(x, 2) + (pairs - contexts) / (2 * (x.size - 2) * math.log(2))
    assert miller_madow_entropy(x, 2, 8) == pytest.approx(expected)


def test_heldout_cross_entropy_stays_above_the_rate(source):
    train, val = source.sample(200_000, seed=4), source.sample(100_000, seed=5)
    rate = source.entropy_rate
    small = heldout_ngram_bpb(train[:2000], val, 2, 8)
    large = heldout_ngram_bpb(train, val, 2, 8)
    assert small > large > rate - 0.01
    assert ngram_entropy(train[:2000], 3) < rate < heldout_ngram_bpb(train[:2000], val, 3, 8)
    # uniform smoothing of nothing: a one-symbol training set predicts val at about log2 V
    assert heldout_ngram_bpb(np.zeros(10, dtype=np.uint8), val, 0, 8, alpha=1e6) == \
        pytest.approx(3.0, abs=1e-3)


def test_bad_input_says_what_to_do():
    with pytest.raises(ValueError, match="vocab_size"):
        cells_seen(np.array([0, 9, 1]), 1, 8)
    with pytest.raises(ValueError, match="alpha"):
        heldout_ngram_bpb(np.array([0, 1, 0]), np.array([1, 0]), 0, 2, alpha=0)
