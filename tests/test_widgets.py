"""The explorers' callbacks change their figures (no browser needed)."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from scalinglab.widgets import exponent_explorer, exponent_figure, scale_factor


def test_scale_factor_is_ten_to_the_minus_alpha_not_alpha():
    assert scale_factor(0.076) == pytest.approx(10 ** -0.076)
    assert scale_factor(0.5, scale=100.0) == pytest.approx(0.1)


def test_exponent_figure_draws_a_line_of_slope_minus_alpha():
    fig = exponent_figure(0.3)
    line = fig.axes[0].get_lines()[-1]
    x, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
    slope = np.polyfit(np.log10(x), np.log10(y), 1)[0]
    assert slope == pytest.approx(-0.3, abs=1e-9)
    plt.close(fig)


def test_moving_the_slider_changes_the_figure():
    first = exponent_figure(0.1).axes[0].get_lines()[-1].get_ydata()
    second = exponent_figure(0.4).axes[0].get_lines()[-1].get_ydata()
    assert not np.allclose(first, second)
    plt.close("all")
    explorer = exponent_explorer(0.2)
    explorer.slider.index = explorer.values.index(0.4)  # as a reader's drag would
    assert explorer.stack.selected_index == explorer.values.index(0.4)
