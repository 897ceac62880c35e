"""The numerical core of every fit: Huber's loss, straight lines, nonlinear laws, the bootstrap.

The public modules (``power_law``, ``kaplan``, ``chinchilla``, ``isoflop``) each state a
law, check its inputs and print its result; the arithmetic that finds the law's numbers,
and says how sure they are, lives here, in four parts that build on one another. All
four work on many fits at once, one row each: that is what lets a bootstrap of a
thousand refits run in one pass of numpy, and why the parts share one module.

**Huber's loss** (:func:`rho`, :func:`psi`, :func:`adaptive_delta`). Every fit minimises
it on residuals in log space. Huber (1964) is quadratic for residuals within ±δ and
linear beyond, so one diverged run cannot drag an exponent the way it would under least
squares. Hoffmann et al. (2022) use it with δ = 10⁻³ on log loss; least squares is the
limit δ → ∞ and is what ``loss="squares"`` means here.

**Straight lines** (:func:`fit_lines`), the workhorse of log–log fits. With E fixed (or
zero), log(y − E) = log A − α·log x is a straight line, so the fit needs no general
optimiser: Huber's loss is minimised by iteratively reweighted least squares (each step
a weighted line, in closed form).

**Nonlinear laws** (:func:`fit_robust`, :func:`fit_from_grid`): L-BFGS from a grid, then
Gauss–Newton. The recipe is Hoffmann et al.'s (2022, appendix D.2): minimise Huber's
loss on the residuals log ŷ − log y with L-BFGS, started from a grid of initial values,
and keep the best start. Besiroglu et al. (2024) traced part of the gap between
Chinchilla's published coefficients and their data to an optimiser that stopped early,
because the summed loss was tiny in absolute terms. So here the loss is rescaled to
order one and the best start is then driven to convergence by damped Gauss–Newton steps
on the same loss (Huber's loss by iteratively reweighted least squares,
Levenberg–Marquardt damping). Those steps solve the local linear system exactly, which
matters because the floor, the coefficient and the exponent of a power law are strongly
correlated: L-BFGS alone stalls at a gradient of ~10⁻⁴ on such valleys. A fit that does
not converge is reported: ``converged`` is False and a :class:`FitConvergenceWarning` is
raised, with the best fit found.

**The bootstrap** (:class:`Intervals`, :func:`resample_indices`, :func:`refit_resamples`):
seeded intervals, how sure each fitted number is. A bootstrap refits the law to data
resampled with replacement (Efron & Tibshirani 1993) and reads an interval off the
spread of the refits. Two ways of reading it are offered, because they behave
differently with the handful of points a scaling sweep usually has (chapter 4, "Power
laws"):

* ``percentile``: the middle `level` of the refitted values. Simple, and good
  with many points, but it undercovers with few: fitting a line to 8 points
  with Gaussian noise, its 95 % interval held the true slope only ~91 % of the
  time in our simulations.
* ``studentized`` (bootstrap-t, Hall 1988): each refit's deviation is divided
  by that refit's own standard error, and the quantiles of that ratio scale
  the original standard error. It corrects most of the small-sample shortfall
  (~95–96 % in the same simulation) and is used wherever a standard error is
  available in closed form (the straight-line fits).

Every draw comes from ``np.random.default_rng(seed)``: the same seed gives the
same interval on every machine. The bootstrap sits here, not in a module of its own,
because it is the same arithmetic run on resamples: its refits are :func:`fit_lines` and
:func:`gauss_newton` on many rows at once, and its intervals are read off their output.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from scalinglab.fit import _checks

# --- Huber's loss ---

LOSSES = ("huber", "squares")

# Huber's tuning constant: 95 % efficiency against least squares under Gaussian noise.
HUBER_K = 1.345
# A median absolute residual times this estimates σ for Gaussian noise.
MAD_TO_SIGMA = 1.4826
# Below this, a residual is rounding error: it must not shrink δ to zero.
_MIN_DELTA = 1e-9


def check_loss(loss: str) -> str:
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
    return loss


def rho(r: np.ndarray, delta: float | np.ndarray) -> np.ndarray:
    """Huber's ρ (squares when δ is infinite)."""
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


def psi(r: np.ndarray, delta: float | np.ndarray) -> np.ndarray:
    """ρ′: the residual, clipped at ±δ."""
    return np.clip(r, -delta, delta)


# δ is re-estimated from the robust fit's own residuals until it moves less than this
# (least-squares residuals are inflated by the very outliers Huber's loss should discount).
DELTA_ROUNDS = 10
DELTA_SETTLED = 1e-3
# ...but only with this many points per parameter: with fewer, a robust fit passes
# (nearly) through p points, the median residual collapses and δ with it.
POINTS_PER_PARAMETER_TO_SETTLE = 3


def adaptive_delta(residuals: np.ndarray, axis: int = -1) -> np.ndarray:
    """δ = 1.345·σ̂ with σ̂ from the median absolute residual (Huber 1964).

    The threshold then follows the data's own scatter: ordinary noise is
    weighed as by least squares, and only points several σ out count linearly.
    """
    sigma = MAD_TO_SIGMA * np.median(np.abs(residuals), axis=axis)
    return np.maximum(HUBER_K * sigma, _MIN_DELTA)


# --- Straight lines: Huber by reweighted least squares ---

@dataclass(frozen=True, eq=False)
class LineFits:
    """v ≈ intercept + slope·u, one row per line.

    `cov` holds each line's 2×2 covariance of (intercept, slope): Huber's
    sandwich estimate, which is the ordinary least-squares one when no
    residual exceeds δ.
    """

    intercept: np.ndarray
    slope: np.ndarray
    cov: np.ndarray
    delta: np.ndarray
    converged: np.ndarray
    residuals: np.ndarray


def _weighted_line(u: np.ndarray, v: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sw = w.sum(axis=1)
    u_bar = (w * u).sum(axis=1) / sw
    v_bar = (w * v).sum(axis=1) / sw
    du = u - u_bar[:, None]
    slope = (w * du * (v - v_bar[:, None])).sum(axis=1) / (w * du * du).sum(axis=1)
    return v_bar - slope * u_bar, slope


def fit_lines(
    u: np.ndarray,
    v: np.ndarray,
    *,
    loss: str = "huber",
    delta: float | None = None,
    max_iter: int = 200,
) -> LineFits:
    """Fit v = c + s·u row by row with Huber's loss (or least squares).

    `delta=None` sets each row's δ to 1.345σ̂ (the classical choice), σ̂ from
    the least-squares residuals and then from the robust fit's own residuals
    until δ settles (with 6 or more points); a float fixes δ. Rows need two
    distinct u values.
    """
    check_loss(loss)
    u = np.atleast_2d(np.asarray(u, dtype=float))
    v = np.atleast_2d(np.asarray(v, dtype=float))
    u, v = np.broadcast_arrays(u, v)
    rows, n = u.shape
    ones = np.ones_like(u)
    c, s = _weighted_line(u, v, ones)
    r = v - c[:, None] - s[:, None] * u
    converged = np.ones(rows, dtype=bool)
    if loss == "squares":
        d = np.full(rows, np.inf)
    elif delta is not None:
        d = np.full(rows, float(delta))
        converged = _irls(u, v, c, s, r, d, max_iter)
    else:
        d = adaptive_delta(r, axis=1)
        rounds = DELTA_ROUNDS if n >= 2 * POINTS_PER_PARAMETER_TO_SETTLE else 1
        for round_ in range(rounds):
            converged = _irls(u, v, c, s, r, d, max_iter)
            settled = adaptive_delta(r, axis=1)
            if round_ == rounds - 1 or np.all(np.abs(settled - d) <= DELTA_SETTLED * d):
                break
            d = settled
    cov = _sandwich(u, r, d, n)
    return LineFits(c, s, cov, d, converged, r)


def _irls(
    u: np.ndarray, v: np.ndarray, c: np.ndarray, s: np.ndarray, r: np.ndarray,
    d: np.ndarray, max_iter: int,
) -> np.ndarray:
    """Huber's loss by reweighted least squares; updates c, s, r in place."""
    rows = len(c)
    converged = np.zeros(rows, dtype=bool)
    active = np.ones(rows, dtype=bool)
    for _ in range(max_iter):
        a = np.abs(r[active])
        da = d[active][:, None]
        w = np.where(a <= da, 1.0, da / np.maximum(a, 1e-300))
        c_new, s_new = _weighted_line(u[active], v[active], w)
        step = np.maximum(np.abs(c_new - c[active]), np.abs(s_new - s[active]))
        scale = 1.0 + np.maximum(np.abs(c_new), np.abs(s_new))
        c[active], s[active] = c_new, s_new
        r[active] = v[active] - c_new[:, None] - s_new[:, None] * u[active]
        done = step <= 1e-12 * scale
        idx = np.flatnonzero(active)
        converged[idx[done]] = True
        active[idx[done]] = False
        if not active.any():
            break
    return converged


def _sandwich(u: np.ndarray, r: np.ndarray, d: np.ndarray, n: int) -> np.ndarray:
    """Huber's asymptotic covariance: σ²_ψ / (mean ψ′)² · (XᵀX)⁻¹."""
    dof = n - 2
    p = psi(r, d[:, None])
    inside = (np.abs(r) <= d[:, None]).mean(axis=1)
    inside = np.maximum(inside, 1.0 / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = (p * p).sum(axis=1) / dof / inside**2 if dof > 0 else np.full(len(r), np.nan)
        su, suu = u.sum(axis=1), (u * u).sum(axis=1)
        det = n * suu - su * su
        inv = np.empty((len(r), 2, 2))
        inv[:, 0, 0] = suu / det
        inv[:, 0, 1] = inv[:, 1, 0] = -su / det
        inv[:, 1, 1] = n / det
    return scale[:, None, None] * inv


# --- Nonlinear laws: L-BFGS from a grid, then Gauss–Newton ---

Features = tuple[np.ndarray, ...]
# (Θ of shape (k, p), features broadcastable to (k, n), want_jacobian)
#   → log ŷ of shape (k, n) and, if wanted, its Jacobian of shape (k, n, p)
Predict = Callable[[np.ndarray, Features, bool], tuple[np.ndarray, np.ndarray | None]]


class FitConvergenceWarning(RuntimeWarning):
    """The optimiser stopped before converging; the fit's `converged` flag is False."""


@dataclass(frozen=True)
class LogModel:
    """A law written as log ŷ(θ; features), vectorised over rows of θ."""

    predict: Predict
    n_params: int
    lower: tuple[float, ...] | None = None  # lower bounds on θ (None: unbounded)

    def bounds(self) -> list[tuple[float | None, float | None]] | None:
        if self.lower is None:
            return None
        return [(None if np.isinf(lo) else lo, None) for lo in self.lower]


@dataclass(frozen=True, eq=False)
class Optimum:
    theta: np.ndarray
    objective: float
    converged: bool
    message: str


def robust_loss(
    model: LogModel, features: Features, log_y: np.ndarray, delta: float, theta: np.ndarray
) -> float:
    """Σ ρ_δ(log ŷ − log y) at one θ."""
    with np.errstate(over="ignore", invalid="ignore"):
        pred, _ = model.predict(theta[None, :], features, False)
    value = float(rho(pred[0] - log_y, delta).sum())
    return value if np.isfinite(value) else np.inf


def lbfgs(
    model: LogModel,
    features: Features,
    log_y: np.ndarray,
    delta: float,
    start: np.ndarray,
    max_iter: int,
) -> Optimum:
    """One L-BFGS run, with the loss scaled to order one near the optimum."""
    start = np.asarray(start, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        r0 = model.predict(start[None, :], features, False)[0][0] - log_y
    rms = float(np.sqrt(np.mean(r0 * r0))) if np.all(np.isfinite(r0)) else 1.0
    s = max(min(delta, rms), 1e-8)
    scale = 1.0 / (log_y.size * s * s)

    def value_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        pred, jac = model.predict(theta[None, :], features, True)
        r = pred[0] - log_y
        return scale * float(rho(r, delta).sum()), scale * (jac[0].T @ psi(r, delta))

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        res = minimize(
            value_and_grad, start, jac=True, method="L-BFGS-B", bounds=model.bounds(),
            options={"maxiter": max_iter, "maxfun": 20 * max_iter, "ftol": 1e-13,
                     "gtol": 1e-9, "maxcor": 20},
        )
    finite = bool(np.isfinite(res.fun) and np.all(np.isfinite(res.x)))
    return Optimum(np.asarray(res.x, dtype=float), float(res.fun) / scale,
                   finite and bool(res.success), str(res.message))


def gauss_newton(
    model: LogModel,
    features: Features,
    log_y: np.ndarray,
    delta: float | np.ndarray,
    start: np.ndarray,
    max_iter: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minimise Σ ρ_δ(log ŷ − log y) for many rows at once.

    `features` and `log_y` have one row per fit (shape (rows, n)); `start` is
    (rows, p) or (p,). Each step solves the reweighted, damped normal equations
    (JᵀWJ + λ·diag JᵀWJ) Δ = −JᵀWr; a step that does not lower the loss is
    refused and λ raised. A row has converged when an accepted step moves no
    parameter by more than 10⁻¹⁰ of its size, or when no step lowers the loss
    (λ grew past 10¹²: the bottom of the valley to machine precision).

    Returns θ (rows, p), the loss at θ (rows,) and the converged flags (rows,).
    """
    log_y = np.atleast_2d(log_y)
    rows, _ = log_y.shape
    theta = np.array(np.broadcast_to(start, (rows, model.n_params)), dtype=float)
    delta = np.broadcast_to(np.asarray(delta, dtype=float), (rows,))[:, None]
    lower = None if model.lower is None else np.array(model.lower)

    def loss_and_parts(th: np.ndarray, keep: np.ndarray, want_jac: bool):
        feats = tuple(f[keep] if f.shape[0] == rows else f for f in features)
        with np.errstate(over="ignore", invalid="ignore"):
            pred, jac = model.predict(th, feats, want_jac)
        r = pred - log_y[keep]
        value = rho(r, delta[keep]).sum(axis=1)
        return np.where(np.isfinite(value), value, np.inf), r, jac

    everyone = np.ones(rows, dtype=bool)
    loss, r, jac = loss_and_parts(theta, everyone, True)
    damping = np.full(rows, 1e-3)
    converged = np.zeros(rows, dtype=bool)
    active = np.isfinite(loss)
    eye = np.eye(model.n_params)
    for _ in range(max_iter):
        if not active.any():
            break
        ids = np.flatnonzero(active)
        ra, ja = r[ids], jac[ids]
        a = np.abs(ra)
        d = delta[ids]
        w = np.where(a <= d, 1.0, d / np.maximum(a, 1e-300))
        jw = ja * w[:, :, None]
        normal = np.einsum("knp,knq->kpq", jw, ja)
        gradient = np.einsum("knp,kn->kp", jw, ra)
        diag = np.einsum("kpp->kp", normal)
        damped = normal + damping[ids, None, None] * (diag[:, :, None] * eye + 1e-30 * eye)
        try:
            step = -np.linalg.solve(damped, gradient[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:  # a parameter the data do not touch at all
            step = -(np.linalg.pinv(damped) @ gradient[:, :, None])[:, :, 0]
        trial = theta[ids] + step
        if lower is not None:
            trial = np.maximum(trial, lower)
        keep = np.zeros(rows, dtype=bool)
        keep[ids] = True
        new_loss, new_r, new_jac = loss_and_parts(trial, keep, True)
        better = new_loss <= loss[ids]
        moved = np.abs(trial - theta[ids]).max(axis=1)
        size = 1.0 + np.abs(theta[ids]).max(axis=1)
        acc = ids[better]
        theta[acc], loss[acc] = trial[better], new_loss[better]
        r[acc], jac[acc] = new_r[better], new_jac[better]
        damping[acc] = np.maximum(damping[acc] / 3.0, 1e-12)
        damping[ids[~better]] *= 4.0
        done = (better & (moved <= 1e-10 * size)) | (damping[ids] > 1e12)
        converged[ids[done]] = True
        active[ids[done]] = False
    return theta, loss, converged


def fit_from_grid(
    model: LogModel,
    features: Features,
    log_y: np.ndarray,
    delta: float,
    starts: np.ndarray,
    *,
    n_starts: int | None,
    max_iter: int,
) -> Optimum:
    """L-BFGS from the best `n_starts` grid points (all when None), best kept, then polished.

    The whole grid is screened at once (one evaluation of the loss per start);
    L-BFGS runs from the lowest `n_starts`; the winner is finished with
    Gauss–Newton steps on the same loss.
    """
    if n_starts is not None and n_starts < len(starts):
        with np.errstate(over="ignore", invalid="ignore"):
            pred, _ = model.predict(starts, features, False)
            screen = rho(pred - log_y, delta).sum(axis=1)
        screen = np.where(np.isfinite(screen), screen, np.inf)
        starts = starts[np.argsort(screen, kind="stable")[:n_starts]]
    best: Optimum | None = None
    for start in starts:
        found = lbfgs(model, features, log_y, delta, start, max_iter)
        if np.isfinite(found.objective) and (best is None or found.objective < best.objective):
            best = found
    if best is None:
        raise RuntimeError("every start of the optimiser gave a non-finite loss; check the data")
    return polish(model, features, log_y, delta, best, max_iter)


def polish(
    model: LogModel,
    features: Features,
    log_y: np.ndarray,
    delta: float,
    found: Optimum,
    max_iter: int,
) -> Optimum:
    """Finish an L-BFGS optimum with Gauss–Newton steps; keep whichever is lower."""
    theta, loss, ok = gauss_newton(
        model, tuple(f[None, :] for f in features), log_y[None, :], delta, found.theta, max_iter
    )
    if loss[0] <= found.objective:
        message = "Gauss–Newton converged" if ok[0] else "Gauss–Newton hit max_iter"
        return Optimum(theta[0], float(loss[0]), bool(ok[0]), message)
    if ok[0] and loss[0] <= found.objective * (1 + 1e-9) + 1e-300:
        # Gauss–Newton started at L-BFGS's point and found no lower one: that point is the
        # bottom of the valley, whatever L-BFGS's line search said (it often stops there with
        # "ABNORMAL" when the loss no longer changes in the last digits).
        return Optimum(found.theta, found.objective, True,
                       "L-BFGS's point, confirmed a minimum by Gauss–Newton")
    return found


def warn_unconverged(optimum: Optimum, what: str) -> None:
    if not optimum.converged:
        warnings.warn(
            f"the optimiser fitting {what} did not converge ({optimum.message}); the result "
            "is the best fit found and carries converged=False: raise max_iter or check the data",
            FitConvergenceWarning,
            stacklevel=4,
        )


def refit_resamples(
    model: LogModel,
    features: Features,
    log_y: np.ndarray,
    delta: float | np.ndarray,
    theta_hat: np.ndarray,
    idx: np.ndarray,
    max_iter: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Refit every resample (a row of `idx`) at once, warm-started at the full-data optimum.

    Returns the refitted parameters (rows) and whether each refit converged.
    """
    theta, _, ok = gauss_newton(
        model, tuple(f[idx] for f in features), log_y[idx], delta, theta_hat, max_iter
    )
    return theta, ok & np.all(np.isfinite(theta), axis=1)


def fit_robust(
    model: LogModel,
    features: Features,
    log_y: np.ndarray,
    starts: np.ndarray,
    *,
    loss: str,
    delta: float | None,
    n_starts: int | None,
    max_iter: int,
) -> tuple[Optimum, float]:
    """Fit with Huber's loss or least squares; returns the optimum and the δ used (∞ for squares).

    With `delta=None`, δ = 1.345σ̂: σ̂ from a least-squares fit first, then from
    the robust fit's own residuals until δ settles (with 3 or more points per
    parameter; least-squares residuals are inflated by the outliers themselves).
    """
    if loss == "squares" or delta is not None:
        used = np.inf if loss == "squares" else float(delta)
        found = fit_from_grid(model, features, log_y, used, starts, n_starts=n_starts,
                              max_iter=max_iter)
        return found, used
    first = fit_from_grid(model, features, log_y, np.inf, starts, n_starts=n_starts,
                          max_iter=max_iter)
    pred, _ = model.predict(first.theta[None, :], features, False)
    used = float(adaptive_delta(pred[0] - log_y))
    second = polish(model, features, log_y, used,
                    lbfgs(model, features, log_y, used, first.theta, max_iter), max_iter)
    rounds = DELTA_ROUNDS if log_y.size >= POINTS_PER_PARAMETER_TO_SETTLE * model.n_params else 1
    for _ in range(rounds - 1):
        pred, _ = model.predict(second.theta[None, :], features, False)
        settled = float(adaptive_delta(pred[0] - log_y))
        if abs(settled - used) <= DELTA_SETTLED * used:
            break
        used = settled
        second = polish(model, features, log_y, used,
                        Optimum(second.theta, np.inf, second.converged, second.message),
                        max_iter)
    converged = first.converged and second.converged
    message = second.message if first.converged else first.message
    return Optimum(second.theta, second.objective, converged, message), used


# --- The bootstrap: resamples and the intervals read off their refits ---

METHODS = ("percentile", "studentized")
# Redrawing a degenerate resample more often than this means the data cannot support it.
_MAX_REDRAWS = 1000


@dataclass(frozen=True, eq=False)
class Intervals:
    """Bootstrap intervals, one (low, high) pair per named quantity."""

    level: float
    method: str
    n_boot: int
    seed: int
    bounds: dict[str, tuple[float, float]]
    n_failed: int = 0
    samples: np.ndarray = field(default_factory=lambda: np.empty((0, 0)), repr=False)
    note: str = ""  # how an interval that is not a bootstrap was made

    def __getitem__(self, name: str) -> tuple[float, float]:
        try:
            return self.bounds[name]
        except KeyError:
            raise KeyError(f"no interval named {name!r}; have {', '.join(self.bounds)}") from None

    def contains(self, name: str, value: float) -> bool:
        """Whether `value` lies inside the interval for `name`."""
        low, high = self[name]
        return bool(low <= value <= high)

    def __str__(self) -> str:
        head = f"{self.level:.0%} intervals ({self.note})" if self.note else (
            f"{self.level:.0%} {self.method} bootstrap intervals "
            f"({self.n_boot} resamples, seed {self.seed}"
            + (f", {self.n_failed} failed refits dropped" if self.n_failed else "")
            + ")"
        )
        rows = [f"  {name:<8} [{lo:.4g}, {hi:.4g}]" for name, (lo, hi) in self.bounds.items()]
        return "\n".join([head, *rows])


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown interval method {method!r}; choose one of {', '.join(METHODS)}")
    return method


def check_n_boot(n_boot: int) -> int:
    if int(n_boot) != n_boot or n_boot < 20:
        raise ValueError(f"n_boot must be a whole number of at least 20 resamples; got {n_boot!r}")
    return int(n_boot)


def cached_intervals(result, level: float, n_boot: int | None, seed: int | None):
    """The result's bootstrap intervals, computed once per (level, n_boot, seed).

    Fit results keep a ``_cache`` dict, their default ``n_boot`` and ``seed``, and a
    ``_bootstrap(level, n_boot, seed)`` method; a notebook calling ``ci()`` twice
    (to print, then to plot) pays for the resampling once.
    """
    level = _checks.confidence_level(level)
    n_boot = check_n_boot(result.n_boot if n_boot is None else n_boot)
    seed = result.seed if seed is None else int(seed)
    key = (level, n_boot, seed)
    if key not in result._cache:
        result._cache[key] = result._bootstrap(level, n_boot, seed)
    return result._cache[key]


def count_distinct(values: np.ndarray) -> np.ndarray:
    """Number of distinct values in each row of a 2-D array."""
    ordered = np.sort(values, axis=1)
    return 1 + (np.diff(ordered, axis=1) != 0).sum(axis=1)


def resample_indices(
    n: int,
    n_boot: int,
    rng: np.random.Generator,
    *,
    keys: tuple[np.ndarray, ...] = (),
    min_distinct: int = 1,
) -> np.ndarray:
    """`n_boot` rows of `n` indices drawn with replacement.

    A row whose points hold fewer than `min_distinct` distinct values of any
    array in `keys` cannot identify the law (a slope from one x) and is redrawn.
    """
    idx = rng.integers(0, n, size=(n_boot, n))
    for _ in range(_MAX_REDRAWS):
        bad = np.zeros(n_boot, dtype=bool)
        for key in keys:
            bad |= count_distinct(key[idx]) < min_distinct
        if not bad.any():
            return idx
        idx[bad] = rng.integers(0, n, size=(int(bad.sum()), n))
    raise ValueError(
        f"could not draw resamples with {min_distinct} distinct values from {n} points; "
        "the data are too few or too repetitive for a bootstrap interval"
    )


def percentile_bounds(samples: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed percentile interval of each column."""
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(samples, [tail, 1.0 - tail], axis=0)
    return low, high


def studentized_bounds(
    estimate: np.ndarray, se: np.ndarray, t_samples: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap-t interval: θ̂ − t*₍₁₋ₐ₎·se … θ̂ − t*₍ₐ₎·se, per column."""
    tail = (1.0 - level) / 2.0
    low = np.empty_like(estimate)
    high = np.empty_like(estimate)
    for j in range(estimate.size):
        t = t_samples[:, j]
        t = t[np.isfinite(t)]
        if t.size == 0:
            low[j] = high[j] = np.nan
            continue
        t_low, t_high = np.quantile(t, [tail, 1.0 - tail])
        low[j] = estimate[j] - t_high * se[j]
        high[j] = estimate[j] - t_low * se[j]
    return low, high


def warn_failures(n_failed: int, n_boot: int, what: str) -> None:
    """Dropped refits shrink the effective number of resamples: say so, or refuse."""
    if n_boot - n_failed < max(20, n_boot // 2):
        raise ValueError(
            f"only {n_boot - n_failed} of {n_boot} bootstrap refits of {what} converged: too "
            "few for an interval (raise max_iter, or check the data)"
        )
    if n_failed > 0.05 * n_boot:
        warnings.warn(
            f"{n_failed} of {n_boot} bootstrap refits of {what} did not converge and were "
            "dropped; the interval rests on the rest and may be too narrow",
            RuntimeWarning,
            stacklevel=3,
        )
