"""Power laws, pure and saturating: y = E + A·x^(−α) (chapter 4, "Power laws").

Three cases, one function:

* ``E=0``: a pure power law, log y = log A − α·log x, a straight line in
  log–log axes (Kaplan et al. 2020 write L(N) this way).
* ``E`` a number: a known floor, such as the exact entropy rate of the book's
  synthetic source. log(y − E) is again a straight line. At CPU scale this is
  the form to use: a free E is poorly determined by a few small models.
* ``E=None``: the floor is fitted too (Hoffmann et al. 2022's irreducible
  loss), by minimising over log-parameters, log ŷ = logsumexp(log A − α·log x,
  log E), from a grid of starts.

The fit is in log space (every point counts by its relative error, whatever
its scale) with Huber's robust loss by default.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field

import numpy as np

from scalinglab.fit import _checks
from scalinglab.fit._checks import (
    number,
    parameter_table,
    single_threaded,
    try_intervals,
    undetermined_lines,
    undetermined_reason,
)
from scalinglab.fit._numerics import (
    Intervals,
    LogModel,
    Optimum,
    check_loss,
    check_method,
    check_n_boot,
    fit_lines,
    fit_robust,
    percentile_bounds,
    refit_resamples,
    resample_indices,
    studentized_bounds,
    warn_failures,
    warn_unconverged,
)

# Grid of starts for a free floor: E as a fraction of the smallest y, and α.
_E_FRACTIONS = (1e-3, 0.3, 0.6, 0.8, 0.9, 0.95, 0.99)
_ALPHAS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0)


@dataclass(frozen=True, eq=False)
class PowerLaw:
    """y = E + A·x^(−α): the law itself, e.g. for a slider to move."""

    E: float
    A: float
    alpha: float

    def predict(self, x: float | np.ndarray) -> float | np.ndarray:
        """The law's y at `x` (positive): a number for a number, an array for a sequence."""
        values = _checks.scale_values(x, "x")
        return _checks.like_input(self.E + self.A * values ** (-self.alpha), x)

    def per_decade(self) -> float:
        """Factor by which y − E changes when x grows tenfold: 10^(−α), not α."""
        return 10.0 ** (-self.alpha)


@dataclass(frozen=True, eq=False)
class PowerLawFit(PowerLaw):
    """A power law fitted to points, with the data kept for its bootstrap.

    `r2_log` is R² in the space the fit minimises: log(y − E) against log x
    when E is fixed (a straight line), log y when E is free.
    """

    E_fixed: bool
    x: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    loss: str
    delta: float
    r2_log: float
    converged: bool
    n_points: int
    n_boot: int = 1000
    seed: int = 0
    max_iter: int = 1000
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return ("A", "alpha") if self.E_fixed else ("E", "A", "alpha")

    @single_threaded
    def ci(
        self,
        level: float = 0.95,
        n_boot: int | None = None,
        seed: int | None = None,
        method: str | None = None,
    ) -> Intervals:
        """Bootstrap intervals for the fitted parameters, resampling points.

        `method=None` picks ``studentized`` when E is fixed (a straight line,
        whose standard errors are closed-form) and ``percentile`` when E is free.
        Each resample repeats the fit with δ held at the value chosen on the
        full data (re-estimating it on resamples, where repeated points sit on
        the fitted line, would let it collapse). Results are cached per arguments.
        """
        level = _checks.confidence_level(level)
        n_boot = check_n_boot(self.n_boot if n_boot is None else n_boot)
        seed = self.seed if seed is None else int(seed)
        method = check_method(method or ("studentized" if self.E_fixed else "percentile"))
        if method == "studentized" and not self.E_fixed:
            raise ValueError(
                "studentized intervals need closed-form standard errors, which only the "
                "straight-line fit (E fixed) has; use method='percentile' with E free"
            )
        key = (level, n_boot, seed, method)
        if key not in self._cache:
            self._cache[key] = self._bootstrap(level, n_boot, seed, method)
        return self._cache[key]

    def _bootstrap(self, level: float, n_boot: int, seed: int, method: str) -> Intervals:
        n_par = len(self.parameter_names)
        if self.n_points < n_par + 2:
            raise ValueError(
                f"{self.n_points} points are too few for a bootstrap interval on {n_par} "
                f"parameters (need at least {n_par + 2}): resamples of so few points "
                "reproduce the fit or cannot identify it"
            )
        if self.n_points < n_par + 3:
            warnings.warn(
                f"only {self.n_points} points for {n_par} parameters: bootstrap intervals "
                "this small undercover (about 80 % for a nominal 95 % at 4 points on a line)",
                RuntimeWarning,
                stacklevel=4,
            )
        rng = np.random.default_rng(seed)
        idx = resample_indices(
            self.n_points, n_boot, rng, keys=(self.x,), min_distinct=n_par + 1
        )
        if self.E_fixed:
            return self._bootstrap_line(idx, level, n_boot, seed, method)
        return self._bootstrap_free(idx, level, n_boot, seed)

    def _bootstrap_line(
        self, idx: np.ndarray, level: float, n_boot: int, seed: int, method: str
    ) -> Intervals:
        u, v = np.log(self.x), np.log(self.y - self.E)
        full = fit_lines(u, v, loss=self.loss, delta=self.delta, max_iter=self.max_iter)
        boot = fit_lines(u[idx], v[idx], loss=self.loss, delta=self.delta, max_iter=self.max_iter)
        ok = boot.converged
        n_failed = int((~ok).sum())
        warn_failures(n_failed, n_boot, "the power law")
        est = np.array([full.intercept[0], full.slope[0]])
        samples = np.column_stack([boot.intercept, boot.slope])[ok]
        if method == "studentized":
            se = np.sqrt(np.array([full.cov[0, 0, 0], full.cov[0, 1, 1]]))
            se_boot = np.sqrt(np.column_stack([boot.cov[:, 0, 0], boot.cov[:, 1, 1]]))[ok]
            with np.errstate(divide="ignore", invalid="ignore"):
                t = (samples - est) / se_boot
            low, high = studentized_bounds(est, se, t, level)
        else:
            low, high = percentile_bounds(samples, level)
        # log A = intercept; α = −slope (so the slope's upper end is α's lower end)
        bounds = {
            "A": (float(np.exp(low[0])), float(np.exp(high[0]))),
            "alpha": (float(-high[1]), float(-low[1])),
        }
        kept = np.column_stack([np.exp(samples[:, 0]), -samples[:, 1]])
        return Intervals(level, method, n_boot, seed, bounds, n_failed, kept)

    def _bootstrap_free(self, idx: np.ndarray, level: float, n_boot: int, seed: int) -> Intervals:
        lx, ly = np.log(self.x), np.log(self.y)
        theta_hat = _theta(self.E, self.A, self.alpha)
        thetas, ok = refit_resamples(
            _SATURATING, (lx,), ly, self.delta, theta_hat, idx, self.max_iter
        )
        samples = np.column_stack([np.exp(thetas[:, 2]), np.exp(thetas[:, 0]), thetas[:, 1]])[ok]
        n_failed = int((~ok).sum())
        warn_failures(n_failed, n_boot, "the power law")
        low, high = percentile_bounds(samples, level)
        names = ("E", "A", "alpha")
        bounds = {name: (float(low[j]), float(high[j])) for j, name in enumerate(names)}
        return Intervals(level, "percentile", n_boot, seed, bounds, n_failed, samples)

    @property
    def undetermined(self) -> str:
        """Why these points do not pin α (an empty string when they do).

        Simulated sweeps (tests/test_fit_power_law.py) set the bar one point above the
        general rule's "parameters + 2": with E fixed, the interval from 4 points covers
        about 80 % for a nominal 95 %, from 5 about 96 %; with E free, from 5 points 78 %,
        from 6 or 7 about 94 %. So α needs parameters + 3 points, and an interval within a
        factor of 3.
        """
        n_par = len(self.parameter_names)
        if self.n_points < n_par + 3:
            return (f"{self.n_points} points for {n_par} parameters; at least {n_par + 3} "
                    "are needed for an interval that covers")
        intervals, _ = try_intervals(lambda: self.ci())
        return undetermined_reason("alpha", intervals["alpha"] if intervals else None,
                                   self.n_points, n_par)

    @property
    def determined(self) -> bool:
        return not self.undetermined

    def summary(self, level: float = 0.95) -> str:
        """A table: each parameter, its estimate and its bootstrap interval."""
        intervals, why = try_intervals(lambda: self.ci(level))
        floor = f"E fixed at {number(self.E)}" if self.E_fixed else "E free"
        loss = "least squares" if self.loss == "squares" else f"Huber (δ = {number(self.delta)})"
        status = "converged" if self.converged else "NOT CONVERGED (best fit found)"
        head = [
            "power law y = E + A·x^(−α) (fit_power_law)",
            f"  {self.n_points} points, {floor}, {loss} in log space, "
            f"R² (log space) = {self.r2_log:.4f}, {status}",
        ]
        rows = [("E", self.E), ("A", self.A), ("alpha", self.alpha)]
        fixed = ("E",) if self.E_fixed else ()
        verdict = undetermined_lines("the exponent alpha", self.undetermined,
                                     "add points (7 or more, spread over 2 decades or more)")
        return "\n".join(head + parameter_table(rows, intervals, fixed=fixed, missing=why)
                         + verdict)

    def __str__(self) -> str:
        return self.summary()


def _theta(E: float, A: float, alpha: float) -> np.ndarray:
    return np.array([np.log(A), alpha, np.log(E) if E > 0 else -700.0])


def _predict_saturating(thetas: np.ndarray, features: tuple[np.ndarray, ...], want_jac: bool):
    """log ŷ = logsumexp(log A − α·log x, log E), one row per θ."""
    (lx,) = features
    a, alpha, e = (thetas[:, j : j + 1] for j in range(3))
    power = a - alpha * lx
    pred = np.logaddexp(power, e)
    if not want_jac:
        return pred, None
    w = np.exp(power - pred)  # the power term's share of ŷ
    return pred, np.stack(np.broadcast_arrays(w, -w * lx, 1.0 - w), axis=-1)


_SATURATING = LogModel(_predict_saturating, 3)


def _starts(lx: np.ndarray, y: np.ndarray) -> np.ndarray:
    rows = []
    for fraction, alpha in itertools.product(_E_FRACTIONS, _ALPHAS):
        E = fraction * y.min()
        a = float(np.mean(np.log(y - E) + alpha * lx))
        rows.append((a, alpha, np.log(E)))
    return np.array(rows)


def _r2(observed: np.ndarray, fitted: np.ndarray) -> float:
    total = float(((observed - observed.mean()) ** 2).sum())
    if total == 0:
        return float("nan")
    return 1.0 - float(((observed - fitted) ** 2).sum()) / total


@single_threaded
def fit_power_law(
    x: np.ndarray,
    y: np.ndarray,
    E: float | None = None,
    *,
    loss: str = "huber",
    delta: float | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    n_starts: int = 8,
    max_iter: int = 1000,
) -> PowerLawFit:
    """Fit y = E + A·x^(−α) in log space (chapter 4, "Power laws").

    Parameters
    ----------
    x, y : positive values, one per point (e.g. parameters and val_bpb).
    E : 0 for a pure power law; a number to fix the floor (the synthetic
        source's exact entropy rate); None to fit it.
    loss : ``"huber"`` (default) or ``"squares"``, on log residuals.
    delta : Huber's threshold in log units. None sets it to 1.345σ̂ (Huber
        1964), σ̂ from the median absolute residual of a least-squares fit, then
        of the robust fit itself until δ settles (with 3+ points per
        parameter), so ordinary scatter is weighed as by least squares and
        outliers count linearly. The bootstrap keeps the δ found here.
    n_boot, seed : defaults for :meth:`PowerLawFit.ci` and the summary (the
        resamples are refitted all at once: ~0.1 s for 1000 with E free).
    n_starts : with E free, L-BFGS runs from this many of the best grid starts.
    max_iter : iteration cap; reaching it warns and sets ``converged=False``.

    The seed article's BLEU table (chapter 1) refits to α ≈ −0.054: BLEU grows
    with N, ×10^0.054 ≈ 1.13 per decade, not "5.5 %".
    """
    check_loss(loss)
    x = _checks.positive_array(x, "x")
    y = _checks.positive_array(y, "y")
    n = _checks.same_length(x=x, y=y)
    if delta is not None:
        delta = _checks.finite_number(delta, "delta")
        if delta <= 0:
            raise ValueError(f"delta must be positive; got {delta!r}")
    lx = np.log(x)
    common = {"x": x, "y": y, "loss": loss, "n_points": n, "n_boot": check_n_boot(n_boot),
              "seed": int(seed), "max_iter": int(max_iter)}
    if E is not None:
        E = _checks.finite_number(E, "E")
        if E < 0:
            raise ValueError(f"a fixed floor E must be zero or positive; got {E!r}")
        what = "a power law with E fixed"
        _checks.enough_points(n, 2, what)
        _checks.enough_distinct(x, 2, "x", what)
        _checks.above_floor(y, E)
        v = np.log(y - E)
        line = fit_lines(lx, v, loss=loss, delta=delta, max_iter=max_iter)
        converged = bool(line.converged[0])
        fit = PowerLawFit(
            E=E, A=float(np.exp(line.intercept[0])), alpha=float(-line.slope[0]), E_fixed=True,
            delta=float(line.delta[0]), r2_log=_r2(v, v - line.residuals[0]),
            converged=converged, **common,
        )
        stopped = f"no convergence in {max_iter} reweighting steps"
        warn_unconverged(Optimum(np.array([]), np.nan, converged, stopped), what)
    else:
        what = "a power law with E free"
        _checks.enough_points(n, 3, what)
        _checks.enough_distinct(x, 3, "x", what)
        ly = np.log(y)
        found, used = fit_robust(
            _SATURATING, (lx,), ly, _starts(lx, y), loss=loss, delta=delta, n_starts=n_starts,
            max_iter=max_iter,
        )
        a, alpha, e = found.theta
        pred = _predict_saturating(found.theta[None, :], (lx,), False)[0][0]
        fit = PowerLawFit(
            E=float(np.exp(e)), A=float(np.exp(a)), alpha=float(alpha), E_fixed=False,
            delta=float(used), r2_log=_r2(ly, pred), converged=found.converged, **common,
        )
        warn_unconverged(found, what)
    return fit
