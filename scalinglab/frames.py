"""Sliders that still move with no kernel: figures drawn ahead and linked in the browser.

An ipywidgets slider normally asks the Python kernel to redraw its figure. On
the book's website there is no kernel, so a slider built that way moves and
nothing happens. Here every figure the slider can show is drawn when the cell
runs, kept as a PNG in an ``Image`` widget, and the images are stacked in a
``Stack`` whose visible child follows the slider through ``jslink``, a link the
browser keeps by itself. The saved notebook holds the images and the link in its
widget state, so the built page needs neither a kernel nor a network; in Jupyter
and Colab the same widget behaves the same way (and a Python-side link keeps the
two in step when the kernel changes the slider).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

FRAME_DPI = 72
"""Resolution of a drawn-ahead frame: a 6-inch figure is ~430 pixels wide, ~25-40 KB."""


def figure_png(fig: Figure, dpi: int = FRAME_DPI) -> bytes:
    """The figure as PNG bytes (and closed: a frame is drawn once, then only shown)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()


def frame_values(low: float, high: float, count: int, include: Sequence[float] = ()) -> list[float]:
    """``count`` evenly spaced values from ``low`` to ``high``, plus ``include``, sorted.

    The values a reader will want to land on exactly (a fitted exponent, a
    published one) are added to the even grid rather than rounded to it.
    """
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"need finite low < high, got {low!r}, {high!r}")
    if count < 2:
        raise ValueError(f"a slider needs at least 2 frames, got {count}")
    grid = np.linspace(low, high, count)
    values = np.unique(np.round(np.concatenate([grid, np.asarray(include, float)]), 10))
    return [float(v) for v in values]


def frame_slider(
    draw: Callable[[float], Figure],
    values: Sequence[float],
    *,
    value: float | None = None,
    description: str = "",
    readout: str = "{:.3f}",
    dpi: int = FRAME_DPI,
):
    """A slider over ``values`` showing ``draw(v)`` for each, drawn now and linked in the browser.

    Returns an ipywidgets ``VBox`` of the slider and the stacked frames, with
    attributes ``slider`` (a ``SelectionSlider`` whose ``index`` picks the
    frame), ``stack``, ``link`` (the browser-side link between them), ``values``
    and ``frames`` (the PNG bytes, in order).
    ``value`` is where the slider starts (the nearest of ``values``).
    """
    import ipywidgets as widgets

    values = [float(v) for v in values]
    if len(values) < 2:
        raise ValueError("a frame slider needs at least two values")
    if not all(np.isfinite(values)):
        raise ValueError(f"frame values must be finite, got {values}")
    start = 0 if value is None else int(np.argmin(np.abs(np.asarray(values) - value)))
    frames = [figure_png(draw(v), dpi=dpi) for v in values]
    images = [widgets.Image(value=png, format="png", layout=widgets.Layout(max_width="100%"))
              for png in frames]
    stack = widgets.Stack(children=images, selected_index=start)
    slider = widgets.SelectionSlider(
        options=[(readout.format(v), i) for i, v in enumerate(values)], index=start,
        description=description, continuous_update=True,
        layout=widgets.Layout(width="min(32rem, 100%)"),
    )
    link = widgets.jslink((slider, "index"), (stack, "selected_index"))

    def follow(change) -> None:  # in a kernel: keep the stack in step from Python too
        stack.selected_index = change["new"]

    slider.observe(follow, names="index")
    box = widgets.VBox([slider, stack])
    box.slider, box.stack, box.link = slider, stack, link
    box.values, box.frames = values, frames
    return box
