"""Entropy, cross-entropy, KL, stationary distributions and n-gram estimates."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from scalinglab.entropy import (
    cross_entropy,
    entropy,
    kl_divergence,
    markov_entropy_rate,
    ngram_entropy,
    stationary_distribution,
)


def _binary_entropy(x: float) -> float:
    return 0.0 if x in (0.0, 1.0) else -x * math.log2(x) - (1 - x) * math.log2(1 - x)


@st.composite
def distributions(draw, n: int | None = None):
    """Probability vectors, some with exact zeros."""
    size = n if n is not None else draw(st.integers(2, 8))
    weights = draw(st.lists(st.floats(0, 10), min_size=size, max_size=size))
    w = np.array(weights)
    if w.sum() <= 1e-3:
        w[0] = 1.0
    return w / w.sum()


# -- entropy, cross-entropy, KL ------------------------------------------------------------


def test_entropy_of_known_distributions():
    assert entropy(np.full(8, 1 / 8)) == pytest.approx(3.0)
    assert entropy([1.0, 0.0, 0.0]) == 0.0
    assert entropy([0.5, 0.5], base=math.e) == pytest.approx(math.log(2))
    assert entropy([0.9, 0.1]) == pytest.approx(_binary_entropy(0.1))


@pytest.mark.parametrize(
    ("p", "message"),
    [
        ([0.5, 0.6], "sums to"),
        ([1.2, -0.2], "negative"),
        ([np.nan, 1.0], "NaN"),
        ([], "non-empty"),
        ([[0.5, 0.5]], "1-D"),
    ],
)
def test_entropy_rejects_what_is_not_a_distribution(p, message):
    with pytest.raises(ValueError, match=message):
        entropy(p)


def test_bad_base_is_rejected():
    with pytest.raises(ValueError, match="base"):
        entropy([0.5, 0.5], base=1)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 8).flatmap(lambda n: st.tuples(distributions(n), distributions(n))))
def test_gibbs_inequality_and_the_kl_identity(pq):
    p, q = pq
    h, ce, kl = entropy(p), cross_entropy(p, q), kl_divergence(p, q)
    assert kl >= 0
    assert ce >= h - 1e-12
    if math.isfinite(ce):
        assert kl == pytest.approx(ce - h, abs=1e-9)
    else:
        assert kl == math.inf


@settings(max_examples=40, deadline=None)
@given(distributions())
def test_kl_is_zero_for_equal_distributions(p):
    assert kl_divergence(p, p) == 0.0
    assert cross_entropy(p, p) == pytest.approx(entropy(p))


def test_kl_is_positive_when_distributions_differ():
    assert kl_divergence([0.5, 0.5], [0.6, 0.4]) > 0.02


def test_zeros_are_handled_the_way_codes_work():
    # q has no codeword for a symbol p emits: infinite cost.
    assert kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert cross_entropy([0.5, 0.5], [1.0, 0.0]) == math.inf
    # p never emits the symbol q wastes code space on: finite.
    assert kl_divergence([1.0, 0.0], [0.5, 0.5]) == pytest.approx(1.0)
    assert cross_entropy([1.0, 0.0], [0.5, 0.5]) == pytest.approx(1.0)


def test_mismatched_lengths_are_rejected():
    with pytest.raises(ValueError, match="same length"):
        kl_divergence([0.5, 0.5], [0.2, 0.3, 0.5])


# -- Markov chains ---------------------------------------------------------------------------


def _two_state(a: float, b: float) -> np.ndarray:
    return np.array([[1 - a, a], [b, 1 - b]])


@pytest.mark.parametrize(("a", "b"), [(0.1, 0.3), (0.5, 0.5), (0.9, 0.02)])
def test_two_state_chain_matches_its_closed_form(a, b):
    P = _two_state(a, b)
    pi = stationary_distribution(P)
    assert pi == pytest.approx([b / (a + b), a / (a + b)], abs=1e-12)
    expected = (b * _binary_entropy(a) + a * _binary_entropy(b)) / (a + b)
    assert markov_entropy_rate(P) == pytest.approx(expected, abs=1e-12)
    # The sparse path (power iteration) agrees with the exact dense solve.
    assert markov_entropy_rate(sp.csr_matrix(P)) == pytest.approx(expected, abs=1e-10)


def test_power_iteration_agrees_with_the_direct_solve_on_a_large_random_chain():
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.full(50, 0.3), size=50)
    exact = stationary_distribution(P)
    iterated = stationary_distribution(sp.csr_matrix(P))
    assert np.abs(exact - iterated).sum() < 1e-10
    assert np.abs(exact @ P - exact).max() < 1e-12


def test_periodic_chain_still_has_its_stationary_distribution():
    P = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert stationary_distribution(sp.csr_matrix(P)) == pytest.approx([0.5, 0.5])
    assert stationary_distribution(P) == pytest.approx([0.5, 0.5])
    assert markov_entropy_rate(P) == 0.0


def test_iid_chain_has_the_entropy_of_its_rows():
    p = np.array([0.5, 0.25, 0.125, 0.125])
    assert markov_entropy_rate(np.tile(p, (4, 1))) == pytest.approx(1.75)


def test_bad_transition_matrices_are_rejected():
    with pytest.raises(ValueError, match="row-stochastic"):
        stationary_distribution(np.array([[0.5, 0.4], [0.5, 0.5]]))
    with pytest.raises(ValueError, match="square"):
        stationary_distribution(np.ones((2, 3)) / 3)
    with pytest.raises(ValueError, match="negative"):
        stationary_distribution(np.array([[1.5, -0.5], [0.5, 0.5]]))
    with pytest.raises(ValueError, match="unique stationary"):
        stationary_distribution(np.eye(2))


# -- n-gram estimates ------------------------------------------------------------------------


def test_ngram_entropy_on_sequences_with_known_answers():
    cycle = np.tile(np.arange(3), 1000)
    assert ngram_entropy(cycle, 0) == pytest.approx(math.log2(3), abs=1e-3)
    assert ngram_entropy(cycle, 1) == pytest.approx(0.0, abs=1e-12)
    # Counted by hand: pairs (0,1) (1,0) (0,1) (1,1); context 0 is always followed by 1
    # (0 bits), context 1 by 0 or 1 equally (1 bit); each context is half the pairs.
    tokens = np.array([0, 1, 0, 1, 1])
    assert ngram_entropy(tokens, 1) == pytest.approx(0.5)


def test_ngram_entropy_of_fair_coin_flips_is_one_bit():
    flips = np.random.default_rng(0).integers(0, 2, size=200_000)
    assert ngram_entropy(flips, 0) == pytest.approx(1.0, abs=1e-3)
    assert ngram_entropy(flips, 3) == pytest.approx(1.0, abs=2e-3)


def test_plug_in_estimate_is_biased_low_with_little_data():
    rng = np.random.default_rng(1)
    short = [ngram_entropy(rng.integers(0, 16, size=2_000), 2) for _ in range(5)]
    assert max(short) < 4.0 - 0.5  # the truth is 4 bits; 2,000 tokens for 4,096 cells


def test_all_counting_paths_agree():
    """Packed-integer bincount, packed-integer unique and raw-window unique give one answer.

    Renaming symbols does not change an entropy, so a 4-symbol stream and the same
    stream spelled with symbols up to 255 must agree; the large alphabet forces the
    other code paths.
    """
    rng = np.random.default_rng(2)
    small = rng.choice(4, size=30_000, p=[0.4, 0.3, 0.2, 0.1])
    renamed = np.array([0, 50, 100, 255])[small]
    for order in (3, 7):  # 3: unique of packed codes; 7: raw windows (8 x 8 bits)
        assert ngram_entropy(renamed, order) == pytest.approx(ngram_entropy(small, order),
                                                              abs=1e-9)


def test_ngram_entropy_rejects_bad_input():
    with pytest.raises(ValueError, match="order"):
        ngram_entropy(np.arange(10), -1)
    with pytest.raises(ValueError, match="integers"):
        ngram_entropy(np.linspace(0, 1, 10), 1)
    with pytest.raises(ValueError, match="more than order"):
        ngram_entropy(np.arange(3), 3)
