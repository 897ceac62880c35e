"""scalinglab.fit.compare: three floors side by side, a held-out model, residuals."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from scalinglab.fit import fit_power_law
from scalinglab.fit.compare import (
    compare_floors,
    hold_out_largest,
    log_residuals,
    prediction_band,
)

FLOOR = 1.56  # bits per byte, near the synthetic source's entropy rate


def _sweep(n=7, alpha=0.45, A=25.0, noise=0.01, seed=0):
    rng = np.random.default_rng(seed)
    N = np.geomspace(6e3, 1e6, n)
    return N, FLOOR + A * N ** (-alpha) * np.exp(noise * rng.standard_normal(n))


def test_compare_floors_tells_the_three_fits_apart():
    N, L = _sweep()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the few-points warnings are silenced inside
        fits = compare_floors(N, L, FLOOR, n_boot=200)
    fixed, ci_fixed = fits["E fixed"]
    free, _ = fits["E free"]
    zero, _ = fits["E = 0"]
    assert fixed.E == FLOOR and zero.E == 0 and not free.E_fixed
    assert ci_fixed.contains("alpha", 0.45) and ci_fixed.method == "percentile"
    assert fits.width("E fixed") < fits.width("E free")
    assert zero.alpha < fixed.alpha  # a pure power law on a floor-dominated loss is too flat
    assert free.E <= L.min()
    text = str(fits)
    assert "E fixed" in text and "E free" in text and "E = 0" in text and "fixed" in text
    with pytest.raises(KeyError, match="have E fixed"):
        fits["E wrong"]


def test_compare_floors_without_free_interval_reports_why():
    N, L = _sweep(n=4)
    fits = compare_floors(N, L, FLOOR, n_boot=50)
    assert fits["E free"][1] is None and fits.width("E free") == float("inf")
    assert np.isfinite(fits.width("E fixed"))
    assert "E free: no interval" in str(fits)


def test_hold_out_predicts_an_exact_law_exactly():
    N = np.geomspace(1e4, 1e6, 6)
    L = FLOOR + 20.0 * N**-0.4
    test = hold_out_largest(N[::-1], L[::-1], FLOOR, n_boot=50)  # order does not matter
    assert test.x_held[0] == N.max()
    assert test.predicted == pytest.approx(L[-1:], rel=1e-9)
    assert np.all(np.abs(test.relative_error) < 1e-9)
    assert "N = 1,000,000" in str(test)


def test_hold_out_without_band_and_bad_n_held():
    N, L = _sweep(n=5)
    test = hold_out_largest(N, L, FLOOR, n_held=2, n_boot=50)  # 3 points: no bootstrap
    assert len(test.predicted) == 2 and np.all(np.isnan(test.low))
    assert "no band" in str(test)
    with pytest.raises(ValueError, match="n_held"):
        hold_out_largest(N, L, FLOOR, n_held=5)


def test_prediction_band_brackets_the_fit():
    N, L = _sweep(noise=0.03)
    fit = fit_power_law(N, L, E=FLOOR, n_boot=200)
    x = np.geomspace(1e3, 1e7, 5)
    low, high = prediction_band(fit, x)
    assert np.all(low <= fit.predict(x)) and np.all(fit.predict(x) <= high)
    assert np.all(low > FLOOR)


def test_log_residuals_are_relative_misses():
    N = np.geomspace(1e4, 1e6, 5)
    L = FLOOR + 20.0 * N**-0.4
    fit = fit_power_law(N, L, E=FLOOR)
    assert np.allclose(log_residuals(fit, N, L), 0, atol=1e-12)
    assert log_residuals(fit, N, L * 1.01) == pytest.approx(np.full(5, np.log(1.01)))
