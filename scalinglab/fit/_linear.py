"""Robust straight lines, many at once: the workhorse of log–log fits.

With E fixed (or zero), log(y − E) = log A − α·log x is a straight line, so the
fit needs no general optimiser: Huber's loss is minimised by iteratively
reweighted least squares (each step a weighted line, in closed form). Every
array here has one row per line, so a thousand bootstrap resamples are fitted
in one pass of numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalinglab.fit._loss import (
    DELTA_ROUNDS,
    DELTA_SETTLED,
    POINTS_PER_PARAMETER_TO_SETTLE,
    adaptive_delta,
    check_loss,
    psi,
)


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
