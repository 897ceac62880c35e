"""Bad input to the fits: a clear error naming the point, never a silent wrong number."""

from __future__ import annotations

import numpy as np
import pytest

from scalinglab.fit import fit_chinchilla, fit_kaplan_n, fit_kaplan_nd, fit_power_law

X = np.geomspace(1e4, 1e7, 8)
Y = 1.5 + 3.0 * X**-0.3


@pytest.mark.parametrize(
    ("bad", "word"), [(np.nan, "NaN"), (np.inf, "infinite"), (0.0, "zero"), (-2.0, "negative")]
)
@pytest.mark.parametrize("which", ["x", "y"])
def test_power_law_names_the_bad_index(bad, word, which):
    x, y = X.copy(), Y.copy()
    (x if which == "x" else y)[3] = bad
    with pytest.raises(ValueError, match=rf"{which}\[3\] = .*\({word}\)"):
        fit_power_law(x, y)


def test_several_bad_points_are_all_named():
    y = Y.copy()
    y[[1, 6]] = np.nan
    with pytest.raises(ValueError, match=r"y\[1\].*y\[6\]"):
        fit_power_law(X, y, E=0)


def test_chinchilla_and_kaplan_name_bad_points_too():
    N = np.geomspace(1e7, 1e10, 8)
    D = 20 * N
    L = 2 + 400 * N**-0.34 + 400 * D**-0.28
    with pytest.raises(ValueError, match=r"D\[2\]"):
        fit_chinchilla(N, np.where(np.arange(8) == 2, -D, D), L)
    with pytest.raises(ValueError, match=r"L\[0\] = inf"):
        fit_kaplan_n(N, np.r_[np.inf, L[1:]])
    with pytest.raises(ValueError, match=r"N\[7\]"):
        fit_kaplan_nd(np.r_[N[:7], np.nan], D, L)


def test_fewer_points_than_parameters():
    with pytest.raises(ValueError, match="3 free parameters but only 2 points"):
        fit_power_law([1.0, 10.0], [2.0, 1.5])
    with pytest.raises(ValueError, match="5 free parameters but only 4 points"):
        fit_chinchilla([1e8, 1e9, 1e8, 1e9], [1e9, 1e9, 1e10, 1e10], [3.0, 2.8, 2.7, 2.5])
    with pytest.raises(ValueError, match="2 free parameters but only 1 points"):
        fit_power_law([10.0], [1.0], E=0)


def test_repeated_x_cannot_give_a_slope():
    with pytest.raises(ValueError, match="distinct x"):
        fit_power_law([5.0, 5.0, 5.0], [1.0, 1.1, 0.9], E=0)


def test_mismatched_lengths_and_shapes():
    with pytest.raises(ValueError, match="x has 8, y has 7"):
        fit_power_law(X, Y[:7])
    with pytest.raises(ValueError, match="one-dimensional"):
        fit_power_law(X.reshape(2, 4), Y.reshape(2, 4))
    with pytest.raises(ValueError, match="sequence of numbers"):
        fit_power_law(["a"] * 8, Y)


def test_fixed_floor_above_the_data():
    with pytest.raises(ValueError, match=r"y\[7\] = .* not above the fixed floor"):
        fit_power_law(X, Y, E=float(Y[7]))
    with pytest.raises(ValueError, match="zero or positive"):
        fit_power_law(X, Y, E=-1.0)
    with pytest.raises(ValueError, match="finite"):
        fit_power_law(X, Y, E=float("nan"))


def test_bad_options():
    with pytest.raises(ValueError, match="unknown loss 'l1'"):
        fit_power_law(X, Y, loss="l1")
    with pytest.raises(ValueError, match="delta must be positive"):
        fit_power_law(X, Y, delta=0.0)
    fit = fit_power_law(X, Y, E=1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        fit.ci(level=95)
    with pytest.raises(ValueError, match="at least 20"):
        fit.ci(n_boot=5)
    with pytest.raises(ValueError, match="unknown interval method"):
        fit.ci(method="bca")
    with pytest.raises(KeyError, match="no interval named 'E'"):
        fit.ci()["E"]  # E was fixed, not estimated


def test_interval_verdict_compares_only_what_the_interval_can_tell_apart():
    from scalinglab.fit import interval_verdict

    named = {"Chinchilla": 0.5, "Kaplan": 0.73}
    assert "holds Chinchilla's 0.5 and excludes Kaplan's 0.73" in interval_verdict(
        "a", 0.5, (0.42, 0.58), "", named)
    assert "cannot tell them apart" in interval_verdict("a", 0.6, (0.4, 0.8), "", named)
    assert "excludes Chinchilla's 0.5 and Kaplan's 0.73" in interval_verdict(
        "a", 0.3, (0.2, 0.4), "", named)
    text = interval_verdict("a", 0.6, (0.3, 0.96), "its interval spans ...", named)
    assert "not determined" in text and "No comparison" in text and "holds" not in text
