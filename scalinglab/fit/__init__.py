"""Fitting scaling laws, and saying how sure each number is.

The book's claims are exponents; they come from here. Every fit works in log
space with Huber's robust loss, keeps its data, and gives seeded bootstrap
intervals through ``.ci()``; printing a result shows a table of estimates with
their intervals.

* :func:`fit_power_law`: y = E + A·x^(−α), E zero, fixed or free (chapter 4).
* :func:`fit_chinchilla`: L = E + A/N^α + B/D^β, Hoffmann et al. (2022)
  approach 3, with the compute-optimal allocation (chapter 8).
* :func:`fit_isoflop`: IsoFLOP parabolas, Hoffmann et al. approach 2 (chapter 8).
* :func:`fit_kaplan_n`, :func:`fit_kaplan_d`, :func:`fit_kaplan_nd`: Kaplan et
  al. (2020)'s L(N), L(D) and L(N, D) (chapters 6 and 7).

Bad input (NaN, infinite, zero or negative values; too few points) raises
ValueError naming the points; an optimiser that stops early warns with
:class:`FitConvergenceWarning` and sets ``converged=False`` on the result. A fit
whose points cannot pin its exponent (too few, or an interval spanning more than
a factor of 3) says so in its summary, ``.determined`` is False, and an
:class:`UndeterminedWarning` names the fix.

The package, one job per module: ``power_law``, ``kaplan``, ``chinchilla`` and
``isoflop`` each state one law and fit it; ``compare`` holds lab 4's checks on a
power-law fit; ``_numerics`` is the arithmetic they share (Huber's loss, straight
lines, the nonlinear optimiser, the bootstrap); ``_checks`` is everything around the
arithmetic (input checks, the one-BLAS-thread pin, the printed tables and verdicts).
"""

from scalinglab.fit._checks import UndeterminedWarning, interval_verdict
from scalinglab.fit._numerics import FitConvergenceWarning, Intervals
from scalinglab.fit.chinchilla import (
    CHINCHILLA_PUBLISHED,
    CHINCHILLA_REPLICATION,
    ChinchillaFit,
    ChinchillaLaw,
    fit_chinchilla,
)
from scalinglab.fit.isoflop import IsoFLOPEdgeWarning, IsoFLOPFit, IsoFLOPProfile, fit_isoflop
from scalinglab.fit.kaplan import (
    KAPLAN_2020,
    KAPLAN_2020_ND,
    KaplanFit,
    fit_kaplan_d,
    fit_kaplan_n,
    fit_kaplan_nd,
    kaplan_loss_d,
    kaplan_loss_n,
    kaplan_loss_nd,
)
from scalinglab.fit.power_law import PowerLaw, PowerLawFit, fit_power_law

__all__ = [
    "CHINCHILLA_PUBLISHED",
    "CHINCHILLA_REPLICATION",
    "KAPLAN_2020",
    "KAPLAN_2020_ND",
    "ChinchillaFit",
    "ChinchillaLaw",
    "FitConvergenceWarning",
    "Intervals",
    "IsoFLOPEdgeWarning",
    "IsoFLOPFit",
    "IsoFLOPProfile",
    "KaplanFit",
    "PowerLaw",
    "PowerLawFit",
    "UndeterminedWarning",
    "fit_chinchilla",
    "fit_isoflop",
    "fit_kaplan_d",
    "fit_kaplan_n",
    "fit_kaplan_nd",
    "fit_power_law",
    "interval_verdict",
    "kaplan_loss_d",
    "kaplan_loss_n",
    "kaplan_loss_nd",
]
