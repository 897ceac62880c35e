"""Figures: log–log axes with units, the way every scaling law in the book is drawn.

A power law ``y = A·x^(−α)`` is a straight line of slope ``−α`` on log–log
axes, so every figure of a law uses them (chapter 1).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

# Colours that read on white and on the site's dark theme alike.
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf")


def loglog_axes(
    xlabel: str, ylabel: str, *, title: str | None = None, figsize=(6.0, 4.0)
) -> tuple[Figure, Axes]:
    """A figure with log–log axes, labelled axes and a light grid."""
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.25)
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
