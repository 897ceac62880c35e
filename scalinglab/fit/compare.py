"""Honest checks on a power-law fit: three floors side by side, a held-out model, residuals.

Lab 4 ("Fitting a scaling law, honestly") fits the same sweep three ways and
asks how far each fit can be trusted:

* :func:`compare_floors`: y = E + A·x^(−α) with E fixed at a known floor, E
  free, and E = 0, each with its bootstrap intervals, printed as one table;
* :func:`prediction_band`: the range of y that the bootstrap refits of a fit
  predict at new x (the band drawn around an extrapolated law);
* :func:`hold_out_largest`: fit all but the largest models, predict them, and
  compare with what they measured;
* :func:`log_residuals`: ln y − ln ŷ, the relative miss at each point; a
  systematic bend in it against ln x means the form of the law is wrong.

Intervals from five points undercover (chapter 4); the warnings that say so are
silenced here and stated once in :class:`FloorComparison`'s table instead.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from scalinglab.fit import _checks
from scalinglab.fit._numerics import Intervals
from scalinglab.fit.power_law import PowerLawFit, fit_power_law


def _fit_and_intervals(x, y, E, level: float, method: str | None,
                       **options) -> tuple[PowerLawFit, Intervals | None, str]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="only .* points for", category=RuntimeWarning)
        fit = fit_power_law(x, y, E=E, **options)
        try:
            return fit, fit.ci(level, method=method), ""
        except ValueError as err:  # too few points for a bootstrap of this many parameters
            return fit, None, str(err).split(":")[0]


def _span(bounds: tuple[float, float] | None) -> str:
    return "—" if bounds is None else f"[{bounds[0]:.3f}, {bounds[1]:.3f}]"


@dataclass(frozen=True, eq=False)
class FloorComparison:
    """Fits of the same points with E fixed at a floor, E free and E = 0."""

    floor: float
    names: tuple[str, ...]
    fits: tuple[PowerLawFit, ...]
    intervals: tuple[Intervals | None, ...]
    reasons: tuple[str, ...]

    def __getitem__(self, name: str) -> tuple[PowerLawFit, Intervals | None]:
        if name not in self.names:
            raise KeyError(f"no fit named {name!r}; have {', '.join(self.names)}")
        i = self.names.index(name)
        return self.fits[i], self.intervals[i]

    def width(self, name: str, parameter: str = "alpha") -> float:
        """Width of the interval on `parameter` (inf when the fit has no interval)."""
        _, ci = self[name]
        if ci is None or parameter not in ci.bounds:
            return float("inf")
        low, high = ci[parameter]
        return float(high - low)

    def __str__(self) -> str:
        level = next((f"{ci.level:.0%}" for ci in self.intervals if ci is not None), "95%")
        head = (f"{'fit':<10} {'E':>7} {level + ' interval on E':>20} {'alpha':>7} "
                f"{level + ' interval on α':>20} {'width':>6} {'R² (log)':>8}")
        lines = [head, "-" * len(head)]
        for name, fit, ci in zip(self.names, self.fits, self.intervals, strict=True):
            e_span = "fixed" if fit.E_fixed else _span(None if ci is None else ci["E"])
            a_span = _span(None if ci is None else ci["alpha"])
            lines.append(f"{name:<10} {fit.E:7.3f} {e_span:>20} {fit.alpha:7.3f} {a_span:>20} "
                         f"{self.width(name):6.3f} {fit.r2_log:8.3f}")
        n = self.fits[0].n_points
        method = next((ci.method for ci in self.intervals if ci is not None), "bootstrap")
        lines.append(f"{n} points; exact floor {self.floor:.4f}; {method} bootstrap intervals "
                     "over points (optimistic with so few)")
        lines += [f"{name}: no interval ({why})"
                  for name, why in zip(self.names, self.reasons, strict=True) if why]
        return "\n".join(lines)


def compare_floors(x, y, floor: float, *, level: float = 0.95, method: str | None = "percentile",
                   **options) -> FloorComparison:
    """Fit y = E + A·x^(−α) three ways: E = `floor`, E free, E = 0 (a pure power law).

    Rows are named ``"E fixed"``, ``"E free"`` and ``"E = 0"``. All three use
    percentile intervals by default, the only kind a free E has, so that their
    widths compare like with like; ``method=None`` gives each fit its own default
    (studentized for the straight lines). `options` go to :func:`fit_power_law`
    (``loss``, ``n_boot``, ``seed``...).
    """
    floor = _checks.finite_number(floor, "floor")
    names = ("E fixed", "E free", "E = 0")
    results = [_fit_and_intervals(x, y, E, level, None if E is None else method, **options)
               for E in (floor, None, 0.0)]
    fits, intervals, reasons = (tuple(col) for col in zip(*results, strict=True))
    return FloorComparison(floor, names, fits, intervals, reasons)


def prediction_band(fit: PowerLawFit, x, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Low and high y at each `x` among the bootstrap refits of `fit` (middle `level`).

    Raises ValueError when the fit has too few points for a bootstrap.
    """
    level = _checks.confidence_level(level)
    values = _checks.scale_values(x, "x")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="only .* points for", category=RuntimeWarning)
        samples = fit.ci(level).samples  # rows (A, α) with E fixed, (E, A, α) with E free
    E = samples[:, 0] if samples.shape[1] == 3 else np.full(len(samples), fit.E)
    curves = E[:, None] + samples[:, -2, None] * values[None, :] ** -samples[:, -1, None]
    tail = 50 * (1 - level)
    low, high = np.percentile(curves, [tail, 100 - tail], axis=0)
    return low, high


@dataclass(frozen=True, eq=False)
class HoldOut:
    """A fit on the smaller models and what it predicts for the held-out larger ones."""

    fit: PowerLawFit
    x_held: np.ndarray
    measured: np.ndarray
    predicted: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @property
    def relative_error(self) -> np.ndarray:
        """(predicted − measured) / measured, per held-out point."""
        return (self.predicted - self.measured) / self.measured

    @property
    def inside(self) -> np.ndarray:
        """Whether each measured value lies inside its prediction band."""
        return (self.low <= self.measured) & (self.measured <= self.high)

    def __str__(self) -> str:
        if not self.fit.E_fixed:
            floor = "E free"
        else:
            floor = "E = 0" if self.fit.E == 0 else f"E fixed at {self.fit.E:.4f}"
        lines = [f"fitted on the {self.fit.n_points} smaller models ({floor}): "
                 f"alpha = {self.fit.alpha:.3f}"]
        for x, m, p, lo, hi, err, ok in zip(self.x_held, self.measured, self.predicted, self.low,
                                            self.high, self.relative_error, self.inside,
                                            strict=True):
            band = "no band" if np.isnan(lo) else f"band [{lo:.4f}, {hi:.4f}]"
            where = "" if np.isnan(lo) else ("  inside" if ok else "  OUTSIDE")
            lines.append(f"N = {x:,.0f}: predicted {p:.4f}, measured {m:.4f} bits per byte "
                         f"({err:+.1%}); {band}{where}")
        return "\n".join(lines)


def hold_out_largest(x, y, E: float | None, *, n_held: int = 1, level: float = 0.95,
                     **options) -> HoldOut:
    """Fit all but the `n_held` largest x, predict those, and keep the measured values.

    The band is :func:`prediction_band` of the smaller fit (NaN when it has too
    few points for a bootstrap, e.g. 4 points with E free).
    """
    x = _checks.positive_array(x, "x")
    y = _checks.positive_array(y, "y")
    _checks.same_length(x=x, y=y)
    if not 1 <= n_held < len(x):
        raise ValueError(f"n_held must be between 1 and {len(x) - 1} for {len(x)} points; "
                         f"got {n_held!r}")
    order = np.argsort(x)
    keep, held = order[:-n_held], order[-n_held:]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="only .* points for", category=RuntimeWarning)
        fit = fit_power_law(x[keep], y[keep], E=E, **options)
    predicted = np.asarray(fit.predict(x[held]), dtype=float)
    try:
        low, high = prediction_band(fit, x[held], level)
    except ValueError:
        low = high = np.full(n_held, np.nan)
    return HoldOut(fit, x[held], y[held], predicted, low, high)


def log_residuals(fit: PowerLawFit, x, y) -> np.ndarray:
    """ln y − ln ŷ at each point: the fraction by which each measured y beats the law (−) or
    misses it (+), comparable across fits whatever their floor."""
    x = _checks.positive_array(x, "x")
    y = _checks.positive_array(y, "y")
    _checks.same_length(x=x, y=y)
    return np.log(y) - np.log(np.asarray(fit.predict(x), dtype=float))
