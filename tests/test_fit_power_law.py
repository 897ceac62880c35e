"""fit_power_law: recovery, intervals that cover honestly, robustness, the seed's BLEU table."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from scalinglab.fit import FitConvergenceWarning, PowerLaw, fit_power_law

FLOOR = 1.573  # the synthetic source's entropy rate in DESIGN §10 (bits per byte)


def _law_points(n=10, alpha=0.33, A=3.0, E=FLOOR, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    x = np.geomspace(1e4, 1e7, n)
    return x, E + A * x ** (-alpha) * np.exp(noise * rng.standard_normal(n))


def test_pure_power_law_is_recovered_exactly():
    x = np.geomspace(10, 1e6, 7)
    fit = fit_power_law(x, 5.0 * x**-0.2, E=0)
    assert fit.alpha == pytest.approx(0.2, rel=1e-10)
    assert fit.A == pytest.approx(5.0, rel=1e-9)
    assert fit.r2_log == pytest.approx(1.0)
    assert fit.converged and fit.E_fixed and fit.n_points == 7


def test_fixed_floor_is_recovered_and_predicts():
    x, y = _law_points()
    fit = fit_power_law(x, y, E=FLOOR)
    assert (fit.A, fit.alpha) == pytest.approx((3.0, 0.33), rel=1e-9)
    assert np.allclose(fit.predict(x), y, rtol=1e-12)


def test_free_floor_is_recovered_from_clean_points():
    x, y = _law_points(n=12)
    fit = fit_power_law(x, y)
    assert not fit.E_fixed and fit.converged
    assert fit.E == pytest.approx(FLOOR, rel=1e-6)
    assert fit.alpha == pytest.approx(0.33, rel=1e-5)
    assert fit.A == pytest.approx(3.0, rel=1e-4)


@pytest.mark.parametrize("E", [FLOOR, None])
def test_noisy_alpha_lies_within_its_interval(E):
    x, y = _law_points(n=12, noise=0.03, seed=3)
    fit = fit_power_law(x, y, E=E)
    intervals = fit.ci()
    assert intervals.contains("alpha", 0.33)
    low, high = intervals["alpha"]
    assert low < fit.alpha < high
    assert high - low < 0.2  # an interval that says something


def test_interval_coverage_over_200_seeded_repetitions():
    """The 95 % interval should hold the true α about 95 % of the time.

    200 synthetic sweeps of 8 model sizes over three decades, each with 3 %
    log-normal noise around y = E + A·x^(−α) with E fixed to the floor. The
    studentized bootstrap is used because 8 points is a typical sweep and the
    plain percentile interval undercovers there (~91 % in our simulations);
    the binomial spread of 200 trials is ±1.5 %, so [0.90, 0.99] is a fair bar.
    """
    covered = 0
    for rep in range(200):
        x, y = _law_points(n=8, noise=0.03, seed=1000 + rep)
        fit = fit_power_law(x, y, E=FLOOR, n_boot=400, seed=rep)
        covered += fit.ci().contains("alpha", 0.33)
    assert 0.90 <= covered / 200 <= 0.99


def test_seed_004_bleu_table_refits_to_0054():
    """Seed 004's table (10⁸, 10⁹, 10¹⁰ parameters → BLEU 25.3, 29.1, 32.4) refitted.

    The log–log slope is +0.054 (the seed says 0.055), so in y = A·x^(−α) the
    exponent is α ≈ −0.054: BLEU *grows* with N. Per decade of N it is
    multiplied by 10^0.054 ≈ 1.13, about 13 %, not the seed's "about 5.5 %"
    (DESIGN §9). Three points leave one degree of freedom: no honest bootstrap
    interval exists, and ci() says so instead of printing a number.
    """
    fit = fit_power_law([1e8, 1e9, 1e10], [25.3, 29.1, 32.4], E=0)
    assert fit.alpha == pytest.approx(-0.054, abs=0.001)
    assert fit.per_decade() == pytest.approx(1.132, abs=0.005)
    assert fit.per_decade() - 1 > 0.12  # 13 %, far from 5.5 %
    with pytest.raises(ValueError, match="too few for a bootstrap interval"):
        fit.ci()
    assert "—" in fit.summary()


def test_huber_resists_an_outlier_that_drags_least_squares():
    x, y = _law_points(n=10, noise=0.005, seed=1, E=0)
    y = y.copy()
    y[-1] *= 1.6  # one diverged run
    robust = fit_power_law(x, y, E=0)
    squares = fit_power_law(x, y, E=0, loss="squares")
    assert abs(robust.alpha - 0.33) < 0.01
    assert abs(squares.alpha - 0.33) > 0.03


def test_intervals_are_seeded_and_cached():
    x, y = _law_points(n=10, noise=0.02, seed=5)
    fit = fit_power_law(x, y, E=FLOOR)
    assert fit.ci(seed=1) is fit.ci(seed=1)
    again = fit_power_law(x, y, E=FLOOR).ci(seed=1)
    assert again["alpha"] == fit.ci(seed=1)["alpha"]
    assert fit.ci(seed=2)["alpha"] != fit.ci(seed=1)["alpha"]
    assert fit.ci(level=0.5)["alpha"][1] - fit.ci(level=0.5)["alpha"][0] < (
        fit.ci()["alpha"][1] - fit.ci()["alpha"][0])


def test_percentile_method_is_available_and_studentized_refused_with_free_floor():
    x, y = _law_points(n=10, noise=0.02, seed=6)
    assert fit_power_law(x, y, E=FLOOR).ci(method="percentile").method == "percentile"
    with pytest.raises(ValueError, match="method='percentile'"):
        fit_power_law(x, y, n_boot=50).ci(method="studentized")


def test_summary_is_a_table_with_intervals():
    x, y = _law_points(n=10, noise=0.02, seed=7)
    text = str(fit_power_law(x, y, E=FLOOR))
    assert "alpha" in text and "95% interval" in text and "fixed" in text
    assert "studentized bootstrap" in text


def test_unconverged_fit_warns_and_is_flagged():
    x, y = _law_points(n=10, noise=0.02, seed=8)
    with pytest.warns(FitConvergenceWarning, match="did not converge"):
        fit = fit_power_law(x, y, max_iter=1)
    assert not fit.converged
    assert np.isfinite([fit.E, fit.A, fit.alpha]).all()
    assert "NOT CONVERGED" in fit.summary()


def test_converged_fit_does_not_warn():
    x, y = _law_points(n=10, noise=0.02, seed=9)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitConvergenceWarning)
        assert fit_power_law(x, y).converged


def test_power_law_object_speaks_in_decades():
    law = PowerLaw(E=0.0, A=1.0, alpha=0.5)
    assert law.per_decade() == pytest.approx(10**-0.5)
    assert law.predict(100.0) == pytest.approx(0.1)  # a number for a number
    assert law.predict([100.0, 1e4]).tolist() == pytest.approx([0.1, 0.01])


def test_a_minimum_confirmed_by_gauss_newton_counts_as_converged():
    """L-BFGS can end its line search with "ABNORMAL" at the very bottom of a flat valley;
    when Gauss–Newton, started there, finds nothing lower, the fit has converged.
    These five points (a measured data-size family) once reported NOT CONVERGED."""
    U = np.array([2048.0, 4096.0, 8192.0, 16384.0, 32768.0])
    L = np.array([2.32007677, 2.07648127, 1.94991267, 1.9129226, 1.90747434])
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitConvergenceWarning)
        fit = fit_power_law(U, L)
    assert fit.converged
    assert 1.85 < fit.E < L.min() and fit.alpha > 0


def test_interval_coverage_with_a_free_floor():
    """E free, 7 sizes over three decades, 1 % noise: the 95 % percentile interval holds
    the true α in 90-99 % of 200 sweeps (with 5 sizes it held it only ~78 % of the time,
    which is why 5 points for 3 parameters count as not determined)."""
    covered = 0
    for rep in range(200):
        x, y = _law_points(n=7, noise=0.01, seed=3000 + rep)
        fit = fit_power_law(x, y, E=None, n_boot=300, seed=rep)
        covered += fit.ci().contains("alpha", 0.33)
    assert 0.90 <= covered / 200 <= 0.99


def test_too_few_points_or_too_wide_an_interval_do_not_determine_alpha():
    from scalinglab.fit import UndeterminedWarning

    x, y = _law_points(n=5, noise=0.01, seed=5)
    free = fit_power_law(x, y, E=None)
    assert not free.determined and "at least 6" in free.undetermined
    with pytest.warns(UndeterminedWarning, match="add points"):
        assert "NOT DETERMINED" in free.summary()
    noisy = fit_power_law(*_law_points(n=6, noise=0.5, seed=6), E=FLOOR)
    low, high = noisy.ci()["alpha"]
    assert (low * high <= 0 or high / low > 3) and not noisy.determined
    good = fit_power_law(*_law_points(n=8, noise=0.01, seed=7), E=FLOOR)
    assert good.determined and "NOT DETERMINED" not in good.summary()
