"""The book's figure helpers draw what they say they draw."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from scalinglab.fit import CHINCHILLA_PUBLISHED  # noqa: E402
from scalinglab.plots import loglog_axes, plot_law_at_fixed_data, plot_power_law  # noqa: E402


def test_power_law_is_a_line_of_slope_minus_alpha():
    fig, ax = loglog_axes("N (parameters)", "loss (nats/token)")
    x = np.logspace(3, 9, 20)
    line = plot_power_law(ax, x, 5.0, 0.3)
    slope = np.polyfit(np.log10(line.get_xdata()), np.log10(line.get_ydata()), 1)[0]
    assert abs(slope + 0.3) < 1e-12
    plt.close(fig)


def test_law_at_fixed_data_stays_above_its_floor():
    law = CHINCHILLA_PUBLISHED
    fig, ax = loglog_axes("N (parameters)", "loss (nats/token)")
    N = np.logspace(6, 14, 50)
    D = 1e10
    curve, floor = plot_law_at_fixed_data(ax, law, N, D)
    expected_floor = law.E + law.B * D ** (-law.beta)
    assert np.allclose(floor.get_ydata(), expected_floor)
    y = np.asarray(curve.get_ydata())
    assert np.allclose(y, law.predict(N, np.full_like(N, D)))
    assert np.all(y > expected_floor) and np.all(np.diff(y) < 0)
    assert y[-1] - expected_floor < 1e-2 < y[0] - expected_floor  # it bends onto the floor
    plt.close(fig)


def test_loss_axes_read_as_plain_numbers():
    fig, ax = loglog_axes("N", "loss (bits per byte)")
    ax.plot([1e3, 1e6], [1.6, 4.2])
    fig.canvas.draw()
    labels = [t.get_text() for t in (*ax.get_yticklabels(), *ax.get_yticklabels(minor=True))
              if t.get_text() and 1.6 <= t.get_position()[1] <= 4.2]
    assert labels == ["2", "3", "4"], labels
    plt.close(fig)
