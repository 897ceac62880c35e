"""Compute-optimal allocation (chapter 8): the published laws, Kaplan's rule, the figures."""

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest

from scalinglab.allocation import (
    allocation,
    allocation_explorer,
    allocation_figure,
    counting_shift,
    isoflop_figure,
    kaplan_allocation,
    minima_exponent,
    near_minimum,
)
from scalinglab.fit import CHINCHILLA_PUBLISHED, CHINCHILLA_REPLICATION, fit_isoflop


def _isoflop_records(law=CHINCHILLA_REPLICATION, budgets=(1e18, 1e19, 1e20, 1e21)):
    """Runs on Chinchilla's own law, sizes centred on each budget's optimum."""
    records = []
    for C in budgets:
        n_opt, _ = law.optimal_allocation(C)
        for n in n_opt * np.logspace(-0.6, 0.6, 7):
            d = C / (6 * n)
            records.append({"flops_budget": C, "flops": C, "n_params": n,
                            "n_params_non_embedding": 0.8 * n - 1e6, "tokens": d,
                            "val_bpb": float(law.predict(n, d))})
    return records


def test_allocation_spends_the_budget_and_matches_the_law():
    C = np.array([1e20, 5.76e23])
    for law in (CHINCHILLA_PUBLISHED, CHINCHILLA_REPLICATION, "kaplan"):
        n, d = allocation(law, C)
        assert np.allclose(6 * n * d, C, rtol=1e-9)
    n, _ = allocation(CHINCHILLA_REPLICATION, 5.76e23)
    assert n == pytest.approx(CHINCHILLA_REPLICATION.optimal_allocation(5.76e23)[0])
    n_k, _ = kaplan_allocation(np.array([1e21, 1e22]))
    assert np.log10(n_k[1] / n_k[0]) == pytest.approx(0.73)
    assert kaplan_allocation(86400e15)[0] == pytest.approx(1.3e9)
    with pytest.raises(ValueError, match="positive"):
        allocation("kaplan", -1.0)
    with pytest.raises(TypeError, match="IsoFLOPFit"):
        allocation(3.0, 1e20)
    with pytest.raises(ValueError, match="unknown allocation"):
        allocation("chinchilla", 1e20)


def test_isoflop_fit_and_counting_recover_the_law():
    records = _isoflop_records()
    fit = fit_isoflop(records)
    assert fit.a == pytest.approx(CHINCHILLA_REPLICATION.a, abs=0.02)
    assert minima_exponent(fit) == pytest.approx(fit.a, abs=0.02)
    n, d = allocation(fit, 1e20)
    assert 6 * n * d == pytest.approx(1e20, rel=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shift = counting_shift(records)
    assert shift["all", "budget (FLOPs spent)"] == pytest.approx(fit.a)
    # a constant subtracted from N (the embedding) shrinks small optima most: a rises
    assert shift["non-embedding", "budget (FLOPs spent)"] > fit.a
    assert "non-embedding" in str(shift)


def test_near_minimum_keeps_a_window_around_each_best_run():
    records = _isoflop_records()
    kept = near_minimum(records, 0.25)
    assert 0 < len(kept) < len(records)
    assert {r["flops_budget"] for r in kept} == {r["flops_budget"] for r in records}
    assert near_minimum(records, 5.0) == records
    with pytest.raises(ValueError, match="positive"):
        near_minimum(records, 0.0)


def test_figures_and_explorer_draw():
    fit = fit_isoflop(_isoflop_records())
    fig = allocation_figure(1e21, fit, label="fit")
    assert "C = 1e+21" in fig._suptitle.get_text() and len(fig.axes) == 2
    plt.close(fig)
    plt.close(isoflop_figure(fit, label="test", floor=1.8))
    box = allocation_explorer(CHINCHILLA_PUBLISHED, C_range=(1e18, 1e22), step_decades=2,
                              value=1e20)
    assert box.values == pytest.approx([18.0, 20.0, 22.0]) and box.slider.index == 1
    with pytest.raises(ValueError, match="step_decades"):
        allocation_explorer(step_decades=0)
