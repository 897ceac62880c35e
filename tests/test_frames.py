"""Sliders over figures drawn ahead: they must move with no kernel, so the link is the browser's."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from scalinglab.frames import figure_png, frame_slider, frame_values
from scalinglab.widgets import (
    best_amplitude,
    code_length_explorer,
    exponent_explorer,
    power_law_frames,
)


def _line_figure(slope: float):
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, slope])
    return fig


def test_frame_values_keep_the_values_asked_for():
    values = frame_values(0.1, 0.5, 5, include=(0.076, 0.333))
    assert values == sorted(values) and 0.076 in values and 0.333 in values
    assert values[1:] == pytest.approx([0.1, 0.2, 0.3, 0.333, 0.4, 0.5])
    with pytest.raises(ValueError, match="low < high"):
        frame_values(1.0, 0.5, 5)
    with pytest.raises(ValueError, match="at least 2"):
        frame_values(0.0, 1.0, 1)


def test_every_frame_is_a_png_and_the_slider_picks_it():
    box = frame_slider(_line_figure, [0.0, 1.0, 2.0], value=1.0, description="s")
    assert all(png.startswith(b"\x89PNG") for png in box.frames)
    assert len(set(box.frames)) == 3, "different values must draw different frames"
    assert box.slider.index == 1 and box.stack.selected_index == 1
    assert [child.value for child in box.stack.children] == box.frames
    box.slider.index = 2  # as a reader's drag would, with a kernel
    assert box.stack.selected_index == 2
    # without a kernel the browser keeps the link: it must join exactly these two traits
    assert box.link.source == (box.slider, "index")
    assert box.link.target == (box.stack, "selected_index")
    plt.close("all")


def test_bad_frame_input_is_refused():
    with pytest.raises(ValueError, match="two values"):
        frame_slider(_line_figure, [1.0])
    with pytest.raises(ValueError, match="finite"):
        frame_slider(_line_figure, [1.0, float("nan")])


def test_exponent_explorer_moves_between_different_figures():
    explorer = exponent_explorer(0.2)
    assert explorer.values[explorer.slider.index] == pytest.approx(0.2)
    target = explorer.values.index(0.076)
    explorer.slider.index = target
    assert explorer.stack.selected_index == target
    assert explorer.frames[target] != explorer.frames[explorer.values.index(0.2)]
    plt.close("all")


def test_code_length_explorer_moves_between_different_figures():
    explorer = code_length_explorer(1.0)
    assert explorer.values[explorer.slider.index] == pytest.approx(1.0)
    explorer.slider.index = len(explorer.values) - 1
    assert explorer.stack.selected_index == len(explorer.values) - 1
    assert len(set(explorer.frames)) == len(explorer.frames)
    plt.close("all")


def test_power_law_frames_pass_through_the_points_at_the_fitted_exponent():
    x = np.array([1e3, 1e4, 1e5, 1e6])
    y = 1.5 + 20.0 * x**-0.4
    box = power_law_frames(x, y, E=1.5)
    assert box.E == 1.5 and box.alpha_fit == pytest.approx(0.4, abs=1e-3)
    assert box.values[box.slider.index] == pytest.approx(box.alpha_fit)
    assert best_amplitude(x, y, 1.5, 0.4) == pytest.approx(20.0)
    assert len(set(box.frames)) == len(box.frames)
    with pytest.raises(ValueError, match="above the floor"):
        best_amplitude(x, y, 2.0, 0.4)
    plt.close("all")


def test_figure_png_closes_the_figure():
    fig = _line_figure(1.0)
    figure_png(fig)
    assert not plt.fignum_exists(fig.number)
