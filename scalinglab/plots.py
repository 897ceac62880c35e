"""Figures: log–log axes with units, the way every scaling law in the book is drawn.

A power law ``y = A·x^(−α)`` is a straight line of slope ``−α`` on log–log
axes, so every figure of a law uses them (chapter 1).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter

# Colours that read on white and on the site's dark theme alike.
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf")


class PlainLogFormatter(LogFormatter):
    """Log-axis labels as plain numbers (``1.6``, ``0.05``) rather than ``1.6 × 10⁰``.

    Losses in bits per byte span less than a decade or two, where a reader wants
    to read the value off the axis; matplotlib still decides which minor ticks
    get a label, so a wide axis is not crowded.
    """

    def __init__(self) -> None:
        super().__init__(labelOnlyBase=False, minor_thresholds=(1.0, 0.5))

    def _num_to_string(self, x: float, vmin: float, vmax: float) -> str:
        return f"{x:.3g}"


def loglog_axes(
    xlabel: str, ylabel: str, *, title: str | None = None, figsize=(6.0, 4.0)
) -> tuple[Figure, Axes]:
    """A figure with log–log axes, labelled axes, a light grid and plain numbers on y."""
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.25)
    ax.yaxis.set_major_formatter(PlainLogFormatter())
    ax.yaxis.set_minor_formatter(PlainLogFormatter())
    if title:
        ax.set_title(title)
    return fig, ax


def plot_power_law(
    ax: Axes,
    x: np.ndarray,
    A: float,
    alpha: float,
    E: float = 0.0,
    *,
    label: str | None = None,
    color: str = PALETTE[0],
    **kwargs,
):
    """Draw ``E + A·x^(−α)`` over ``x`` and return the line."""
    x = np.asarray(x, dtype=float)
    (line,) = ax.plot(x, E + A * x ** (-alpha), color=color, label=label, **kwargs)
    return line


def plot_law_at_fixed_data(
    ax: Axes,
    law,
    N: np.ndarray,
    D: float,
    *,
    label: str | None = None,
    color: str = PALETTE[0],
    **kwargs,
):
    """Draw a Chinchilla-style law's loss against ``N`` at fixed ``D``, and its floor.

    ``law`` needs ``predict(N, D)`` and the constants ``E``, ``B``, ``beta``
    (a :class:`scalinglab.fit.ChinchillaLaw`). However large the model, the
    loss stays above ``E + B/D^β`` (dotted): the curve bends toward it on
    log–log axes, which is where a pure power law in ``N`` breaks (chapter 1).
    Returns the (curve, floor) lines.
    """
    N = np.asarray(N, dtype=float)
    loss = np.asarray(law.predict(N, np.full_like(N, float(D))), dtype=float)
    (curve,) = ax.plot(N, loss, color=color, label=label, **kwargs)
    floor = law.E + law.B * float(D) ** (-law.beta)
    floor_line = ax.axhline(floor, color=color, linestyle=":", linewidth=1.0)
    return curve, floor_line
