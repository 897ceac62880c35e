"""The code-length explorer: entropy, Huffman and arithmetic code lengths, live."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from scalinglab.widgets import code_length_explorer, code_length_figure, code_lengths


def _bar_heights(fig) -> np.ndarray:
    return np.array([bar.get_height() for bar in fig.axes[0].patches])


def test_bar_heights_change_with_the_exponent():
    first = _bar_heights(code_length_figure(1.0))
    second = _bar_heights(code_length_figure(3.0))
    assert first.shape == second.shape == (3,)
    assert not np.allclose(first, second)
    plt.close("all")


def test_bars_are_the_three_code_lengths():
    fig = code_length_figure(1.0)
    np.testing.assert_allclose(_bar_heights(fig), code_lengths(1.0))
    assert "bits per symbol" in fig.axes[0].get_ylabel()
    plt.close(fig)


@pytest.mark.parametrize("exponent", [0.0, 1.0, 2.0, 3.0])
def test_huffman_is_within_a_bit_of_the_entropy(exponent):
    h, huffman, _ = code_lengths(exponent)
    assert h - 1e-12 <= huffman < h + 1


def test_arithmetic_code_is_close_to_the_entropy_at_exponent_one():
    h, _, arithmetic = code_lengths(1.0)
    # below H only by the sample's luck; above by the flush (≲ 2/n ideal + a few bytes)
    assert h - 0.15 <= arithmetic <= h + 0.1


def test_huffman_wastes_more_than_arithmetic_on_a_skewed_source():
    h, huffman, arithmetic = code_lengths(3.0)
    assert huffman - h > arithmetic - h


def test_driving_the_slider_updates_the_explorer():
    explorer = code_length_explorer(1.0)
    explorer.slider.index = explorer.values.index(2.0)  # as a reader's drag would
    assert explorer.stack.selected_index == explorer.values.index(2.0)
    plt.close("all")
