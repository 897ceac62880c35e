"""The synthetic Zipf–Markov source: exact entropy rate, faithful and fast sampling."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from scalinglab.data import SyntheticSource, zipf_distribution
from scalinglab.entropy import entropy, markov_entropy_rate, ngram_entropy


@pytest.fixture(scope="module")
def source() -> SyntheticSource:
    return SyntheticSource()  # V = 16, K = 3, a = (16, 8, 4), seed 0: the book's default


@pytest.fixture(scope="module")
def long_sample(source) -> np.ndarray:
    return source.sample(4_000_000, seed=11)


# -- the exact entropy rate --------------------------------------------------------------------


def test_entropy_rate_two_ways(source):
    """The source's own power iteration and the generic sparse-chain computation agree."""
    generic = markov_entropy_rate(source.transition_matrix())
    assert source.entropy_rate == pytest.approx(generic, abs=1e-9)
    assert 0 < source.entropy_rate < math.log2(source.vocab_size)


def test_two_symbol_order_one_source_matches_the_closed_form():
    src = SyntheticSource(vocab_size=2, order=1, concentrations=(2.0,), seed=3)
    (p00, a), (b, p11) = src.next_symbol_probs  # a = P(0 -> 1), b = P(1 -> 0)
    assert p00 + a == pytest.approx(1) and b + p11 == pytest.approx(1)

    def h(x):
        return entropy([x, 1 - x])

    assert src.entropy_rate == pytest.approx((b * h(a) + a * h(b)) / (a + b), abs=1e-12)
    assert src.stationary == pytest.approx([b / (a + b), a / (a + b)], abs=1e-12)


def test_stationary_distribution_is_stationary(source):
    pi = source.stationary
    assert pi.sum() == pytest.approx(1.0)
    assert np.abs(pi @ source.transition_matrix() - pi).max() < 1e-13


def test_every_context_has_a_distribution(source):
    probs = source.next_symbol_probs
    assert probs.shape == (16**3, 16)
    assert np.all(probs >= 0)
    assert np.allclose(probs.sum(axis=1), 1.0)


def test_zipf_base_distribution():
    p = zipf_distribution(16, 1.0)
    assert p.sum() == pytest.approx(1.0)
    ranks = np.arange(1, 17)
    assert p[0] / p == pytest.approx(ranks)  # p(r) proportional to 1 / r
    assert zipf_distribution(10, 2.0)[0] / zipf_distribution(10, 2.0)[2] == pytest.approx(9)
    assert zipf_distribution(5, 0.0) == pytest.approx(np.full(5, 0.2))
    assert SyntheticSource(zipf_exponent=1.5).base_distribution == pytest.approx(
        zipf_distribution(16, 1.5)
    )


def test_large_concentrations_give_an_iid_zipf_source():
    """With a_k -> infinity every context copies its parent: the source is i.i.d. Zipf."""
    src = SyntheticSource(vocab_size=16, order=2, concentrations=(1e7, 1e7))
    p0 = zipf_distribution(16, 1.0)
    assert src.entropy_rate == pytest.approx(entropy(p0), abs=1e-3)
    counts = np.bincount(src.sample(400_000, seed=0), minlength=16)
    slope = np.polyfit(np.log(np.arange(1, 17)), np.log(counts / counts.sum()), 1)[0]
    assert slope == pytest.approx(-1.0, abs=0.05)  # the Zipf exponent, read off the sample


def test_order_zero_source_is_iid():
    src = SyntheticSource(vocab_size=8, order=0, zipf_exponent=1.0)
    assert src.entropy_rate == pytest.approx(entropy(zipf_distribution(8, 1.0)))
    assert markov_entropy_rate(src.transition_matrix()) == pytest.approx(src.entropy_rate)


def test_default_concentrations_halve_with_depth():
    assert SyntheticSource(vocab_size=32, order=3).concentrations == (32.0, 16.0, 8.0)
    assert SyntheticSource().concentrations == (16.0, 8.0, 4.0)


def test_the_source_seed_draws_a_different_source(source):
    assert SyntheticSource(seed=1).entropy_rate != source.entropy_rate
    assert SyntheticSource(seed=0).entropy_rate == source.entropy_rate


# -- samples ----------------------------------------------------------------------------------


def test_empirical_entropy_converges_to_the_exact_rate(source, long_sample):
    exact = source.entropy_rate
    gap_long = abs(ngram_entropy(long_sample, 3) - exact)
    gap_short = abs(ngram_entropy(long_sample[:100_000], 3) - exact)
    assert gap_long < 0.01 * exact
    assert gap_long < gap_short / 3


def test_symbol_frequencies_match_the_stationary_marginal(source, long_sample):
    freq = np.bincount(long_sample, minlength=16) / long_sample.size
    assert 0.5 * np.abs(freq - source.symbol_distribution).sum() < 0.005
    assert long_sample.dtype == np.uint8 and long_sample.max() < 16


def test_samples_start_in_the_stationary_distribution(source):
    """The first symbol of many samples is distributed as every other symbol."""
    first = np.array([source.sample(1, seed=s)[0] for s in range(3000)])
    freq = np.bincount(first, minlength=16) / first.size
    assert 0.5 * np.abs(freq - source.symbol_distribution).sum() < 0.05
    # A start in the most likely state would show: its next-symbol row is far off.
    fixed_start = source.next_symbol_probs[np.argmax(source.stationary)]
    assert 0.5 * np.abs(fixed_start - source.symbol_distribution).sum() > 0.1


def _sequential_reference(src: SyntheticSource, n: int, seed: int) -> np.ndarray:
    """One symbol at a time, inverse CDF, the textbook way (and the same random stream)."""
    rng = np.random.default_rng(seed)
    state_cdf = np.cumsum(src.stationary)
    state = int(np.searchsorted(state_cdf, rng.random() * state_cdf[-1], side="right"))
    cdf = np.cumsum(src.next_symbol_probs, axis=1)
    keep = src.vocab_size ** (src.order - 1)
    out = np.empty(n, dtype=np.uint8)
    for t, u in enumerate(rng.random(n)):
        x = int(np.searchsorted(cdf[state], u, side="right"))
        out[t] = x
        state = (state % keep) * src.vocab_size + x
    return out


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"vocab_size": 5, "order": 2},
        # Deep and nearly deterministic: runs from different states rarely meet, so the
        # sampler must fall back to one symbol at a time and still agree.
        {"vocab_size": 2, "order": 12},
    ],
)
def test_fast_sampler_is_exactly_the_sequential_chain(kwargs):
    src = SyntheticSource(**kwargs)
    expected = _sequential_reference(src, 5_000, seed=4)
    assert np.array_equal(src.sample(5_000, seed=4), expected)
    # Segments of 7 tokens force thousands of guessed starts to be repaired.
    assert np.array_equal(src._sample(5_000, 4, segment_tokens=7), expected)


def test_sampling_is_deterministic_per_seed(source):
    assert np.array_equal(source.sample(10_000, seed=5), source.sample(10_000, seed=5))
    assert not np.array_equal(source.sample(10_000, seed=5), source.sample(10_000, seed=6))
    assert source.sample(0).size == 0


def test_sampling_a_million_tokens_is_fast(source):
    start = time.perf_counter()
    source.sample(1_000_000, seed=7)
    assert time.perf_counter() - start < 2.5  # ~0.1 s on a free core


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"vocab_size": 1}, "between 2 and 256"),
        ({"vocab_size": 300}, "between 2 and 256"),
        ({"order": 2, "concentrations": (1.0, 2.0, 3.0)}, "one value per order"),
        ({"concentrations": (16.0, 0.0, 4.0)}, "positive"),
        ({"vocab_size": 64, "order": 4}, "lower vocab_size or order"),
        ({"zipf_exponent": -1.0}, "zipf_exponent"),
        ({"order": -1}, "order"),
    ],
)
def test_bad_parameters_are_rejected_with_a_fix(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SyntheticSource(**kwargs)


def test_bad_sample_sizes_are_rejected(source):
    with pytest.raises(ValueError, match="n_tokens"):
        source.sample(-1)
    with pytest.raises(ValueError, match="n_tokens"):
        source.sample(1.5)
