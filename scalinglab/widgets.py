"""ipywidgets explorers: move an exponent and watch a law change.

Each explorer is a pure figure function (tested without a browser) wrapped in
ipywidgets, so it is live in Jupyter and Colab.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from scalinglab.plots import PALETTE, loglog_axes, plot_power_law


def scale_factor(alpha: float, scale: float = 10.0) -> float:
    """How much a power law ``L ∝ x^(−α)`` multiplies the loss when ``x`` grows ``scale``-fold.

    A power law turns a ×10 in scale into a ×10^(−α) in loss, not a ×α
    (one of the errors the book corrects, chapter 1).
    """
    return float(scale ** (-alpha))


def exponent_figure(
    alpha: float, *, reference_alpha: float = 0.076, x_range=(1e6, 1e11)
) -> Figure:
    """Loss against scale for exponent ``alpha``, beside a reference exponent.

    Both curves start at the same loss at the left edge so only the slope differs.
    """
    x = np.logspace(np.log10(x_range[0]), np.log10(x_range[1]), 64)
    fig, ax = loglog_axes("parameters N", "loss (relative to N = 10⁶)")
    x0 = x_range[0]
    plot_power_law(ax, x, x0**reference_alpha, reference_alpha, color=PALETTE[1],
                   linestyle="--", label=f"α = {reference_alpha:.3f} (Kaplan et al. 2020)")
    plot_power_law(ax, x, x0**alpha, alpha, color=PALETTE[0], linewidth=2.5,
                   label=f"α = {alpha:.3f}")
    ax.set_title(f"×10 in N multiplies the loss by 10^(−α) = {scale_factor(alpha):.3f}")
    ax.legend(loc="lower left")
    return fig


def exponent_explorer(alpha: float = 0.076, *, reference_alpha: float = 0.076):
    """A slider over the exponent α, redrawing :func:`exponent_figure` live."""
    import ipywidgets as widgets

    slider = widgets.FloatSlider(
        value=alpha, min=0.01, max=0.6, step=0.005, description="α", readout_format=".3f",
        continuous_update=False,
    )

    def draw(alpha: float) -> None:
        from IPython.display import display

        fig = exponent_figure(alpha, reference_alpha=reference_alpha)
        display(fig)
        plt.close(fig)

    return widgets.interactive(draw, alpha=slider)
