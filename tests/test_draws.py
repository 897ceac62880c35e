"""Means over draws: intervals that cover, paired differences, sentences that follow the data."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from scalinglab.draws import mean_interval, paired_difference, plot_bands, verdict  # noqa: E402


def test_the_interval_covers_the_true_mean_of_skewed_accuracies():
    """The number in the module's docstring: 5 draws from a Beta(14, 6), mean 0.7."""
    rng = np.random.default_rng(12)
    covered = sum(not mean_interval(rng.beta(14, 6, 5)).excludes(0.7) for _ in range(400))
    assert 0.90 * 400 <= covered <= 0.99 * 400, covered


def test_pairing_cancels_the_luck_the_draws_share():
    rng = np.random.default_rng(0)
    luck = rng.normal(0, 0.05, 5)            # the labelled set: good or bad for both bodies
    a, b = 0.70 + luck + 0.02, 0.70 + luck + rng.normal(0, 0.002, 5)
    assert not mean_interval(a).excludes(float(np.mean(b)))   # unpaired: too wide to tell
    assert paired_difference(a, b).low > 0                     # paired: a is ahead
    assert verdict("a", "b", paired_difference(a, b)).startswith("a is ahead by 0.0")
    assert verdict("a", "b", paired_difference(b, a)).startswith("b is ahead by 0.0")
    tie = paired_difference([0.6, 0.7, 0.65], [0.65, 0.6, 0.7])
    assert verdict("a", "b", tie).startswith("3 draws cannot tell a from b")


def test_too_few_draws_or_a_nan_names_the_fix():
    with pytest.raises(ValueError, match="more seeds"):
        mean_interval([0.7])
    with pytest.raises(ValueError, match="NaN"):
        mean_interval([0.7, float("nan")])
    with pytest.raises(ValueError, match="one to one"):
        paired_difference([0.7, 0.8], [0.7, 0.8, 0.9])


def test_bands_draw_a_line_and_a_band_per_body():
    fig, ax = plt.subplots()
    plot_bands({"x": {16: [0.6, 0.7], 64: [0.7, 0.8]}, "y": {16: [0.5, 0.5], 64: [0.6, 0.7]}},
               ax, dashed=("y",))
    assert len(ax.lines) == 2 and len(ax.collections) == 2
    assert ax.lines[1].get_linestyle() == "--"
    plt.close(fig)
