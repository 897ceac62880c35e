"""A result repeated over random draws: its mean with an interval, and differences that are real.

A fine-tuning accuracy depends on which few labelled examples were drawn and on
the head's initialisation; one draw can put a worse body ahead (lab 12 once
showed 0.639 against 0.624 at 16 labels, the order reversing with the seed).
Chapter 12 and lab 12 therefore repeat each measurement over ≥ 5 draws and
report the mean with Student's t interval, and compare two bodies by the
interval of their *paired* difference (each draw gives both bodies the same
labelled set, so the set's luck cancels).

Coverage, by simulation: accuracies drawn from a skewed distribution
(Beta(14, 6), mean 0.7), 5 draws, 4,000 repetitions with three seeds: the 95 %
interval covered the true mean in 93.7-94.5 % of them
(``tests/test_draws.py`` asserts 90-99 % on 400). The interval is about the
draws only; the test set is fixed, and its own sampling error (±0.03 at
n = 1,000 snippets) is shared by every body and not in the band.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

MIN_DRAWS = 2
LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """A mean over draws and its two-sided t interval."""

    mean: float
    low: float
    high: float
    draws: int

    def excludes(self, value: float) -> bool:
        return not self.low <= value <= self.high

    def __str__(self) -> str:
        return f"{self.mean:.3f} [{self.low:.3f}, {self.high:.3f}] ({self.draws} draws)"


def mean_interval(values, level: float = LEVEL) -> Interval:
    """Mean of ``values`` (one per draw) with Student's t interval at ``level``."""
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or len(x) < MIN_DRAWS:
        raise ValueError(f"an interval needs at least {MIN_DRAWS} draws; got {x.size}: "
                         "repeat the measurement with more seeds")
    if not np.all(np.isfinite(x)):
        raise ValueError("a draw is NaN or infinite; rerun it before averaging")
    half = stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    return Interval(float(x.mean()), float(x.mean() - half), float(x.mean() + half), len(x))


def paired_difference(a, b, level: float = LEVEL) -> Interval:
    """The interval of mean(a − b) when draw i of ``a`` and of ``b`` shared their randomness."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired draws must match one to one; got {a.size} and {b.size}")
    return mean_interval(a - b, level)


def verdict(name_a: str, name_b: str, difference: Interval) -> str:
    """A sentence the text can quote: which is better, or that the draws cannot tell."""
    if difference.low > 0:
        return (f"{name_a} is ahead by {difference.mean:.3f} "
                f"(95 % interval {difference.low:.3f} to {difference.high:.3f})")
    if difference.high < 0:
        return (f"{name_b} is ahead by {-difference.mean:.3f} "
                f"(95 % interval {-difference.high:.3f} to {-difference.low:.3f})")
    return (f"{difference.draws} draws cannot tell {name_a} from {name_b}: the difference "
            f"{difference.mean:+.3f} has a 95 % interval from {difference.low:+.3f} to "
            f"{difference.high:+.3f}")


def plot_bands(curves: dict[str, dict[int, list[float]]], ax, *, colours=None,
               dashed: tuple[str, ...] = ()) -> None:
    """One line per name through the means over draws, with its 95 % band."""
    from scalinglab.plots import PALETTE

    for (name, by_n), colour in zip(curves.items(), colours or PALETTE, strict=False):
        ns = sorted(by_n)
        spans = [mean_interval(by_n[n]) for n in ns]
        ax.plot(ns, [s.mean for s in spans], marker="o", color=colour,
                ls="--" if name in dashed else "-", label=name)
        ax.fill_between(ns, [s.low for s in spans], [s.high for s in spans], color=colour,
                        alpha=0.15, lw=0)
