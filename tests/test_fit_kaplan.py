"""Kaplan et al.'s (2020) L(N), L(D) and L(N, D): the forms, and fits that recover them."""

from __future__ import annotations

import numpy as np
import pytest

from scalinglab.fit import (
    KAPLAN_2020,
    KAPLAN_2020_ND,
    fit_kaplan_d,
    fit_kaplan_n,
    fit_kaplan_nd,
    kaplan_loss_d,
    kaplan_loss_n,
    kaplan_loss_nd,
)


def test_the_joint_form_reduces_to_the_single_ones():
    """Eq. 1.5 gives L(N) when data are unlimited and L(D) when the model is."""
    N = np.geomspace(1e6, 1e9, 4)
    p = KAPLAN_2020_ND
    assert np.allclose(kaplan_loss_nd(N, 1e40), kaplan_loss_n(N, p["alpha_N"], p["N_c"]))
    assert np.allclose(kaplan_loss_nd(1e40, N), kaplan_loss_d(N, p["alpha_D"], p["D_c"]))
    # a 10x larger model lowers L(N) by 10^-0.076, about 16 %, not by 0.076
    assert kaplan_loss_n(1e9) / kaplan_loss_n(1e8) == pytest.approx(10**-0.076)


def test_single_forms_are_recovered():
    N = np.geomspace(1e5, 1e9, 9)
    fit = fit_kaplan_n(N, kaplan_loss_n(N))
    assert fit["alpha_N"] == pytest.approx(KAPLAN_2020["alpha_N"], rel=1e-9)
    assert fit["N_c"] == pytest.approx(KAPLAN_2020["N_c"], rel=1e-6)
    D = np.geomspace(1e7, 1e11, 9)
    fit = fit_kaplan_d(D, kaplan_loss_d(D))
    assert fit.params == pytest.approx({"alpha_D": 0.095, "D_c": 5.4e13}, rel=1e-6)
    assert np.allclose(fit.predict(D=D), kaplan_loss_d(D))


def test_joint_form_is_recovered_from_a_grid():
    N, D = (a.ravel() for a in np.meshgrid(np.geomspace(1e6, 1e9, 7), np.geomspace(2e7, 2e10, 6)))
    fit = fit_kaplan_nd(N, D, kaplan_loss_nd(N, D), n_boot=30)
    assert fit.converged
    assert fit.params == pytest.approx(KAPLAN_2020_ND, rel=1e-4)


def test_noisy_alpha_n_is_inside_its_interval():
    rng = np.random.default_rng(11)
    N = np.geomspace(1e5, 1e9, 10)
    L = kaplan_loss_n(N) * np.exp(0.01 * rng.standard_normal(N.size))
    fit = fit_kaplan_n(N, L)
    intervals = fit.ci()
    assert intervals.method == "studentized"
    assert intervals.contains("alpha_N", 0.076)
    assert intervals.contains("N_c", 8.8e13)
    assert "alpha_N" in str(fit) and "N_c" in str(fit)


def test_noisy_joint_fit_covers_the_truth():
    rng = np.random.default_rng(5)
    N, D = (a.ravel() for a in np.meshgrid(np.geomspace(1e6, 1e9, 7), np.geomspace(2e7, 2e10, 6)))
    L = kaplan_loss_nd(N, D) * np.exp(0.01 * rng.standard_normal(N.size))
    intervals = fit_kaplan_nd(N, D, L, n_boot=100).ci()
    for name in ("alpha_N", "alpha_D"):
        assert intervals.contains(name, KAPLAN_2020_ND[name])


def test_predict_asks_for_what_the_form_needs():
    N = np.geomspace(1e5, 1e9, 6)
    fit = fit_kaplan_n(N, kaplan_loss_n(N))
    with pytest.raises(ValueError, match="needs N"):
        fit.predict(D=N)
