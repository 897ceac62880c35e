"""The power-law explorer: sliders move the figure, "fit" snaps to fit_power_law."""

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest

from scalinglab.fit import fit_power_law
from scalinglab.widgets import power_law_explorer, power_law_figure

X = np.array([1e3, 3e3, 1e4, 3e4, 1e5, 3e5])
Y = 1.5 + 20.0 * X**-0.4 * np.array([1.01, 0.99, 1.0, 1.02, 0.98, 1.0])


def _curve(fig):
    return np.asarray(fig.axes[0].get_lines()[1].get_ydata())


def test_figure_draws_the_law_and_log_residuals():
    fig = power_law_figure(X, Y, 1.5, 20.0, 0.4)
    x = np.asarray(fig.axes[0].get_lines()[1].get_xdata())
    assert _curve(fig) == pytest.approx(1.5 + 20.0 * x**-0.4)
    residual = np.asarray(fig.axes[1].get_lines()[0].get_ydata())
    assert residual == pytest.approx(np.log10(Y) - np.log10(1.5 + 20.0 * X**-0.4))
    assert fig.axes[0].get_xscale() == "log" and fig.axes[0].get_yscale() == "log"
    plt.close("all")


def test_moving_a_slider_changes_the_figure():
    explorer = power_law_explorer(X, Y, E=1.5)
    before = _curve(explorer.live.figure)
    explorer.sliders["alpha"].value = 0.9
    after = _curve(explorer.live.figure)
    assert not np.allclose(before, after)
    explorer.sliders["E"].value = 0.5
    assert not np.allclose(after, _curve(explorer.live.figure))
    plt.close("all")


def test_fit_button_sets_the_fitted_values():
    explorer = power_law_explorer(X, Y, E=1.5)
    explorer.sliders["alpha"].value = 1.5
    explorer.fit_button.click()
    expected = fit_power_law(X, Y, E=1.5, loss="squares")
    assert explorer.sliders["E"].value == pytest.approx(1.5)
    assert explorer.sliders["alpha"].value == pytest.approx(expected.alpha, abs=1e-3)
    assert explorer.sliders["A"].value == pytest.approx(expected.A, rel=0.03)
    assert "95 % interval" in explorer.label.value
    assert _curve(explorer.live.figure) == pytest.approx(
        1.5 + explorer.sliders["A"].value
        * np.asarray(explorer.live.figure.axes[0].get_lines()[1].get_xdata())
        ** -explorer.sliders["alpha"].value
    )
    plt.close("all")


def test_fit_button_with_a_free_floor():
    explorer = power_law_explorer(X, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        explorer.fit_button.click()
    expected = fit_power_law(X, Y, loss="squares")
    assert explorer.sliders["E"].value == pytest.approx(expected.E, abs=1e-3)
    assert explorer.sliders["alpha"].value == pytest.approx(expected.alpha, abs=1e-3)
    plt.close("all")
