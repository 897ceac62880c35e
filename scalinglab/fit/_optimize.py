"""Robust fits of nonlinear laws in log space: L-BFGS from a grid, then Gauss–Newton.

The recipe is Hoffmann et al.'s (2022, appendix D.2): minimise Huber's loss on
the residuals log ŷ − log y with L-BFGS, started from a grid of initial
values, and keep the best start. Besiroglu et al. (2024) traced part of the
gap between Chinchilla's published coefficients and their data to an
optimiser that stopped early, because the summed loss was tiny in absolute
terms. So here the loss is rescaled to order one and the best start is then
driven to convergence by damped Gauss–Newton steps on the same loss (Huber's
loss by iteratively reweighted least squares, Levenberg–Marquardt damping).
Those steps solve the local linear system exactly, which matters because the
floor, the coefficient and the exponent of a power law are strongly
correlated: L-BFGS alone stalls at a gradient of ~10⁻⁴ on such valleys.

The Gauss–Newton solver works on many fits at once (one row each), which is
what makes a bootstrap of hundreds of refits take a fraction of a second.
A fit that does not converge is reported: ``converged`` is False and a
:class:`FitConvergenceWarning` is raised, with the best fit found.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from scalinglab.fit._loss import (
    DELTA_ROUNDS,
    DELTA_SETTLED,
    POINTS_PER_PARAMETER_TO_SETTLE,
    adaptive_delta,
    psi,
    rho,
)

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
