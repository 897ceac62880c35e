"""Tests for scalinglab.zipf_learning (chapter 9: why learning curves are power laws)."""

import numpy as np
import pytest

from scalinglab.data import SyntheticSource
from scalinglab.fit import fit_power_law
from scalinglab.zipf_learning import (
    context_indices,
    count_model_excess_bits,
    expected_missing_mass,
    feature_probabilities,
    local_slope,
    markov_count_excess_bits,
    missing_mass_asymptote,
    rank_frequency,
    sampled_missing_mass,
    tail_mass,
)


def test_feature_probabilities_are_zipf_and_normalised():
    p = feature_probabilities(1000, 1.0)
    assert p.sum() == pytest.approx(1.0)
    assert p[0] / p[1] == pytest.approx(4.0)  # k^-2
    with pytest.raises(ValueError):
        feature_probabilities(0, 1.0)
    with pytest.raises(ValueError):
        feature_probabilities(10, -0.5)


def test_missing_mass_small_case_by_hand():
    p = np.array([0.5, 0.3, 0.2])
    expected = [1.0, 0.5 * 0.5 + 0.3 * 0.7 + 0.2 * 0.8,
                0.5 * 0.25 + 0.3 * 0.49 + 0.2 * 0.64]
    assert np.allclose(expected_missing_mass(p, [0, 1, 2]), expected)


def test_missing_mass_exponent_matches_theory():
    p = feature_probabilities(200_000, 1.0)
    n = np.logspace(2, 4, 9)
    fit = fit_power_law(n, expected_missing_mass(p, n), E=0)
    assert fit.alpha == pytest.approx(0.5, abs=0.01)
    ratio = expected_missing_mass(p, [1e4])[0] / missing_mass_asymptote(1.0, 1e4, c=p[0])
    assert ratio == pytest.approx(1.0, abs=0.01)


def test_sampled_curve_is_monotone_and_near_expectation():
    p = feature_probabilities(10_000, 1.0)
    n = np.array([0, 10, 100, 1000, 10_000, 100_000])
    run = sampled_missing_mass(p, n, seed=3)
    assert run[0] == pytest.approx(1.0)
    assert np.all(np.diff(run) <= 0)
    exact = expected_missing_mass(p, n)
    assert np.all(np.abs(run[3:] / exact[3:] - 1) < 0.4)


def test_tail_mass():
    p = np.array([0.1, 0.6, 0.3])
    assert np.allclose(tail_mass(p, [0, 1, 2, 3, 5]), [1.0, 0.4, 0.1, 0.0, 0.0])
    fit = fit_power_law(np.array([10, 100, 1000]),
                        tail_mass(feature_probabilities(100_000, 1.0), [10, 100, 1000]), E=0)
    assert fit.alpha == pytest.approx(1.0, abs=0.03)


def test_count_model_parametric_rate():
    p = np.full(8, 1 / 8)
    n = 4000
    excess = count_model_excess_bits(p, [n], repeats=200)[0]
    assert excess * n / (7 / (2 * np.log(2))) == pytest.approx(1.0, abs=0.15)


def test_local_slope_of_power_law():
    x = np.logspace(0, 3, 7)
    assert np.allclose(local_slope(x, 3 * x**-0.7), -0.7)


def test_rank_frequency_sorts_and_drops_zeros():
    assert np.array_equal(rank_frequency([0.2, 0.0, 0.5, 0.3]), [0.5, 0.3, 0.2])


def test_context_indices():
    assert np.array_equal(context_indices(np.array([1, 2, 3, 0]), 4, 2), [1 * 4 + 2, 2 * 4 + 3])


def test_markov_count_excess_falls_and_matches_exact_model():
    source = SyntheticSource(4, 1, (4.0,), zipf_exponent=1.0)
    tokens = source.sample(200_000, seed=0)
    excess = markov_count_excess_bits(source, tokens, [100, 10_000, 200_000])
    assert np.all(np.diff(excess) < 0) and np.all(excess > 0)
    # 4 contexts x 3 free probabilities: about 12 / (2 n ln 2) bits at large n.
    assert excess[-1] * 200_000 / (12 / (2 * np.log(2))) == pytest.approx(1.0, abs=0.6)


def test_learning_curve_gap_drops_early_points_and_non_positive_gaps():
    from scalinglab.zipf_learning import learning_curve_gap

    record = {"entropy_floor_bpb": 1.0,
              "loss_curve": [[100, 3.0], [500, 2.0], [1000, 0.99], [2000, 1.5]]}
    tokens, gap = learning_curve_gap(record, start_fraction=0.2)
    assert np.array_equal(tokens, [500, 2000]) and np.allclose(gap, [1.0, 0.5])
